import { formatViolations } from './shared/field-path';
import { checkSchemaIsValid } from './shared/schema-check';

/**
 * The typed contract of a function's UserParameters, as a JSON Schema (draft 2020-12 unless `$schema` says
 * otherwise; drafts 4, 7 and 2019-09 are honoured too).
 *
 * The constructs check the UserParameters against it at synth time (CDK tokens and `#{Namespace.Variable}` references
 * are accepted where the schema asks for a string), and the runtime's `jobHandler({ schema })` checks the parameters
 * it receives against the same literal, with the same code.
 */
export class UserParametersSchema {
  /**
   * A JSON Schema object.
   *
   * @param schema the JSON Schema; throws when it is not usable (an unknown type, a malformed keyword, a bad `$ref`)
   */
  public static fromJsonSchema(schema: { [key: string]: any }): UserParametersSchema {
    const violations = checkSchemaIsValid(schema);
    if (violations.length > 0) {
      throw new Error(`UserParametersSchema.fromJsonSchema: not a usable JSON Schema: ${formatViolations(violations)}`);
    }
    return new UserParametersSchema(schema);
  }

  /** The JSON Schema, as given. */
  public readonly schema: { [key: string]: any };

  private constructor(schema: { [key: string]: any }) {
    this.schema = schema;
  }
}
