import { Validator } from '@cfworker/json-schema';
import * as fc from 'fast-check';
import { paths, schema } from './schema-fixture';
import { checkUserParameters, formatViolations } from '../../src/shared/user-parameters-check';

// What the constructs pass at synth time: CDK tokens and pipeline variable references are not known yet.
const isUnresolved = (value: string) => value.includes('${Token[') || /#\{[A-Za-z0-9@\-_]+\.[A-Za-z0-9@\-_]+\}/.test(value);

describe('checkUserParameters', () => {
  test('a conforming value has no violation', () => {
    expect(checkUserParameters(schema, { environment: 'dev', retries: 2, targets: [{ url: 'https://x.dev' }] })).toEqual([]);
  });

  test('a value out of range names the field and shows the bound and the value', () => {
    expect(checkUserParameters(schema, { environment: 'dev', retries: -1 })).toEqual([
      { path: 'retries', message: 'must be >= 0 (got -1)' },
    ]);
  });

  test('a nested error is reported at its field path, not at the wrapper', () => {
    const violations = checkUserParameters(schema, { environment: 'dev', retries: 1, targets: [{ url: 'https://a' }, { url: 'not a uri' }] });
    expect(violations).toEqual([{ path: 'targets[1].url', message: 'must be a valid "uri" (got "not a uri")' }]);
  });

  test('a missing required property is reported at the property itself', () => {
    expect(checkUserParameters(schema, { environment: 'dev' })).toEqual([{ path: 'retries', message: 'is required' }]);
  });

  test('an unknown property is reported as not allowed', () => {
    expect(checkUserParameters(schema, { environment: 'dev', retries: 0, extra: true })).toEqual([
      { path: 'extra', message: 'is not allowed here' },
    ]);
  });

  test('an enum violation lists the allowed values', () => {
    expect(checkUserParameters(schema, { environment: 'test', retries: 0 })).toEqual([
      { path: 'environment', message: 'must be one of "dev", "prod" (got "test")' },
    ]);
  });

  test('every violation is reported, not only the first', () => {
    expect(paths(checkUserParameters(schema, { environment: 'x', retries: 'many', name: 'A' }))).toEqual([
      'environment',
      'retries',
      'name',
      'name',
    ]);
  });

  test('a failed anyOf is one violation that explains each alternative', () => {
    expect(checkUserParameters(schema, { environment: 'dev', retries: 0, port: 'http' })).toEqual([
      { path: 'port', message: 'must match one alternative of "anyOf": (1) must match the pattern ^[0-9]+$ (got "http") or (2) must be an integer (got "http")' },
    ]);
  });

  test('a key that is not an identifier is quoted in the path', () => {
    expect(paths(checkUserParameters(schema, { 'environment': 'dev', 'retries': 0, 'odd key/~#': 1 }))).toEqual(['["odd key/~#"]']);
  });

  test('a missing value is one violation at the root', () => {
    expect(checkUserParameters(schema, undefined)).toEqual([{ path: '', message: 'is missing (no UserParameters given)' }]);
  });

  test('a value of the wrong type at the root is reported at the root', () => {
    expect(checkUserParameters(schema, 'dev')).toEqual([{ path: '', message: 'must be an object (got "dev")' }]);
  });

  test('an unresolved string is accepted where the schema constrains a string', () => {
    const value = { environment: '#{Deploy.Env}', retries: 1, name: '${Token[TOKEN.12]}', targets: [{ url: '#{Build.Url}' }], port: '#{A.Port}' };
    expect(checkUserParameters(schema, value, { isUnresolved })).toEqual([]);
  });

  test('the same strings are violations when nothing says they are unresolved', () => {
    const value = { environment: '#{Deploy.Env}', retries: 1, name: '${Token[TOKEN.12]}' };
    expect(paths(checkUserParameters(schema, value))).toEqual(['environment', 'name']);
  });

  test('an unresolved string is still rejected where the schema wants another type', () => {
    expect(checkUserParameters(schema, { environment: 'dev', retries: '#{Build.Retries}' }, { isUnresolved })).toEqual([
      { path: 'retries', message: 'must be an integer (got "#{Build.Retries}")' },
    ]);
  });

  test('$schema selects the draft: draft-04 boolean exclusiveMinimum applies', () => {
    const draft4 = { $schema: 'http://json-schema.org/draft-04/schema#', type: 'number', minimum: 0, exclusiveMinimum: true };
    expect(paths(checkUserParameters(draft4, 0))).toEqual(['']);
    expect(checkUserParameters(draft4, 1)).toEqual([]);
  });

  test('the caller schema object is not modified', () => {
    const literal = { type: 'object', properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: { type: 'string' } } };
    const before = JSON.stringify(literal);
    checkUserParameters(literal, { a: 1 });
    expect(JSON.stringify(literal)).toBe(before);
    expect(Object.getOwnPropertyNames(literal)).toEqual(['type', 'properties', '$defs']);
  });
});

describe('formatViolations', () => {
  test('joins field and message, naming the root', () => {
    expect(formatViolations([{ path: '', message: 'is missing' }, { path: 'retries', message: 'must be >= 0' }])).toBe(
      '(root): is missing; retries: must be >= 0',
    );
  });
});

describe('properties', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  const schemas = fc.constantFrom<object>(
    schema,
    { type: 'array', items: { type: 'integer', minimum: 0 }, maxItems: 4 },
    { type: 'object', additionalProperties: { type: 'string', maxLength: 3 } },
    { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'object', required: ['a'] }] },
    { anyOf: [{ type: 'array', items: { type: 'boolean' } }, { type: 'object', properties: { a: { const: 1 } } }] },
    { type: 'object', properties: { a: { type: 'object', properties: { b: { enum: [1, 'x', null] } } } }, if: { required: ['a'] }, then: { minProperties: 2 } },
  );

  test('the verdict agrees with the validator: no violation exactly when the value is valid', () => {
    fc.assert(
      fc.property(schemas, json, (s, value) => {
        const valid = new Validator(JSON.parse(JSON.stringify(s)), '2020-12', false).validate(value).valid;
        expect(checkUserParameters(s, value).length === 0).toBe(valid);
      }),
      { numRuns: 500 },
    );
  });

  test('a violation at any key is reported at that key, whatever characters it has', () => {
    const keyed = { type: 'object', additionalProperties: { type: 'string' } };
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'binary' }), (key) => {
        const [violation] = checkUserParameters(keyed, { [key]: 1 });
        const expected = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
        expect(violation.path).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  test('making any string of a valid value unresolved keeps it valid', () => {
    const valid = fc.record({
      environment: fc.constantFrom('dev', 'prod'),
      retries: fc.integer({ min: 0, max: 10 }),
      name: fc.stringMatching(/^[a-z]{3,8}$/),
      targets: fc.array(fc.record({ url: fc.webUrl() }), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(valid, fc.nat(), (value, pick) => {
        expect(checkUserParameters(schema, value)).toEqual([]);
        const strings = ['environment', 'name', ...value.targets.map((_, i) => `targets.${i}`)];
        const chosen = strings[pick % strings.length];
        const replaced = JSON.parse(JSON.stringify(value));
        if (chosen.startsWith('targets.')) {
          replaced.targets[Number(chosen.split('.')[1])].url = '#{Build.Url}';
        } else {
          replaced[chosen] = '${Token[TOKEN.99]}';
        }
        expect(checkUserParameters(schema, replaced, { isUnresolved })).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});
