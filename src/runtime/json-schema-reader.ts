/**
 * UserParameters checked against a JSON Schema (the object given to `UserParametersSchema.fromJsonSchema` in the
 * stack), by the same checker the constructs use at synth. A module of its own so that a handler without a JSON
 * Schema never bundles the checker and its JSON Schema library (see `jsonSchema` of `cdk-codepipeline-invoke/runtime/core`).
 */
import type { UserParametersReader } from './user-parameters';
import { parseUserParametersJson } from './user-parameters';
import { UserParametersError } from '../shared/errors';

/** Reads UserParameters and checks them against `schema`; the checker loads on the first invocation (cold start). */
export function jsonSchemaReader(schema: object): UserParametersReader {
  let schemaProblem: string | undefined | null = null;
  return async (raw) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const check: typeof import('../shared/user-parameters-check') = require('../shared/user-parameters-check');
    if (schemaProblem === null) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { checkSchemaIsValid }: typeof import('../shared/schema-check') = require('../shared/schema-check');
      const violations = checkSchemaIsValid(schema);
      schemaProblem = violations.length > 0 ? check.formatViolations(violations) : undefined;
    }
    if (schemaProblem !== undefined) {
      throw new UserParametersError([{ path: '', message: `cannot be checked: the handler's schema is not a valid JSON Schema (${schemaProblem})` }]);
    }
    const value = parseUserParametersJson(raw);
    const violations = check.checkUserParameters(schema, value);
    if (violations.length > 0) throw new UserParametersError(violations);
    return value;
  };
}
