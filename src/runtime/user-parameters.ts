/**
 * UserParameters at run time: parsed as JSON and, when the handler has a schema, checked against it.
 */
import { UserParametersError } from '../shared/errors';

export type UserParametersReader = (raw: string | undefined) => unknown;

/**
 * Parses and checks UserParameters. The schema checker (and its JSON Schema library) is loaded on the first
 * invocation, not at import: the handler's cold import stays small.
 */
export function userParametersReader(schema: object | undefined): UserParametersReader {
  if (schema === undefined) {
    return (raw) => {
      if (raw === undefined) return undefined;
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
    };
  }
  let schemaProblem: string | undefined | null = null;
  return (raw) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const check: typeof import('../shared/user-parameters-check') = require('../shared/user-parameters-check');
    if (schemaProblem === null) {
      const violations = check.checkSchemaIsValid(schema);
      schemaProblem = violations.length > 0 ? check.formatViolations(violations) : undefined;
    }
    if (schemaProblem !== undefined) {
      throw new UserParametersError([{ path: '', message: `cannot be checked: the handler's schema is not a valid JSON Schema (${schemaProblem})` }]);
    }
    let value: unknown;
    if (raw !== undefined) {
      try {
        value = JSON.parse(raw);
      } catch (error) {
        throw new UserParametersError([
          {
            path: '',
            message:
              `is not valid JSON (${(error as Error).message}). If it contains a #{Namespace.Variable}, a value with a quote or ` +
              'a backslash breaks the JSON text (aws-cdk #31213)',
          },
        ]);
      }
    }
    const violations = check.checkUserParameters(schema, value);
    if (violations.length > 0) throw new UserParametersError(violations);
    return value;
  };
}
