/** The schema and helpers the checker's tests share. */
import type { SchemaViolation } from '../../src/shared/field-path';

/** A schema that uses most keywords a UserParameters contract needs: enum, bounds, patterns, arrays, $ref, anyOf, odd keys. */
export const schema = {
  type: 'object',
  required: ['environment', 'retries'],
  additionalProperties: false,
  $defs: { url: { type: 'string', format: 'uri' } },
  properties: {
    'environment': { enum: ['dev', 'prod'] },
    'retries': { type: 'integer', minimum: 0, maximum: 10 },
    'name': { type: 'string', minLength: 3, pattern: '^[a-z]+$' },
    'targets': { type: 'array', maxItems: 3, items: { type: 'object', properties: { url: { $ref: '#/$defs/url' } } } },
    'port': { anyOf: [{ type: 'string', pattern: '^[0-9]+$' }, { type: 'integer' }] },
    'odd key/~#': { type: 'string' },
  },
};

/** The fields the violations name, in order. */
export function paths(violations: readonly SchemaViolation[]): string[] {
  return violations.map((v) => v.path);
}
