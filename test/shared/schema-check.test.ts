import { paths, schema } from './schema-fixture';
import { checkSchemaIsValid } from '../../src/shared/schema-check';

describe('checkSchemaIsValid', () => {
  test('a usable schema has no violation', () => {
    expect(checkSchemaIsValid(schema)).toEqual([]);
  });

  test('a schema that is not an object is rejected at the root', () => {
    expect(checkSchemaIsValid('string')).toEqual([{ path: '', message: 'must be a JSON Schema object (got string)' }]);
  });

  test('an unknown type name is reported at its location', () => {
    expect(paths(checkSchemaIsValid({ properties: { a: { type: 'strin' } } }))).toEqual(['properties.a.type']);
  });

  test('an invalid regular expression is reported', () => {
    expect(checkSchemaIsValid({ pattern: '(' })[0]).toMatchObject({ path: 'pattern', message: expect.stringMatching(/not a valid regular expression/) });
  });

  test('an unresolvable $ref is reported', () => {
    expect(checkSchemaIsValid({ properties: { a: { $ref: '#/$defs/missing' } } })).toEqual([
      { path: 'properties.a.$ref', message: 'cannot be resolved: "#/$defs/missing"' },
    ]);
  });

  test('an unknown $schema is reported', () => {
    expect(paths(checkSchemaIsValid({ $schema: 'https://example.com/schema' }))).toEqual(['$schema']);
  });

  test('malformed keyword values are reported each', () => {
    expect(paths(checkSchemaIsValid({ required: 'a', minLength: -1, anyOf: [], enum: 'x' }))).toEqual(['anyOf', 'minLength', 'required', 'enum']);
  });
});
