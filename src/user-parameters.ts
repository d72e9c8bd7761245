import { Annotations, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { containsToken, isPlainObject } from './private/tokens';
import { fieldPath } from './shared/field-path';

/** The id of the warning a free-text variable inside a JSON string raises (acknowledge it with `Annotations.acknowledgeWarning`). */
const FREE_TEXT_VARIABLE_WARNING_ID = 'cdk-codepipeline-invoke:freeTextVariableInJsonString';

/**
 * `#{Namespace.Variable}` references whose value is free text a person wrote: the `CommitMessage` of the CodeCommit,
 * CodeStarSourceConnection (GitHub, GitLab, Bitbucket) and GitHub source actions, and variables named like a message,
 * title, description or subject (pipeline-level variables such as a pull request title). The namespace may be a CDK
 * token (an action's `variables.commitMessage` with a generated namespace).
 */
const FREE_TEXT_VARIABLE = /#\{.*?\.([A-Za-z0-9@_-]*(?:Message|Title|Description|Subject))\}/;

/**
 * The `UserParameters` of a Lambda invoke action: the configuration string CodePipeline hands to the function in
 * `CodePipeline.job.data.actionConfiguration.configuration.UserParameters`.
 *
 * Use `fromObject` for JSON (what the runtime's `jobHandler` parses and checks against the schema), `fromString`
 * for any other text. String values may hold CDK tokens (they render as `Fn::Join`, as `Stack.toJsonString` does) and
 * `#{Namespace.Variable}` references, which CodePipeline substitutes textually before invoking the function.
 *
 * The rendered value must be 1 to 1000 characters long after variable substitution (CodePipeline quotas); this is
 * checked at synth time whenever the length is knowable.
 */
export class UserParameters {
  /**
   * JSON parameters. Keys keep their order; the same object always renders to the same string.
   *
   * @param obj the parameters: JSON values, CDK tokens and `#{Namespace.Variable}` references in strings
   */
  public static fromObject(obj: { [key: string]: any }): UserParameters {
    return new UserParameters(obj);
  }

  /**
   * A string passed through as it is (it may hold tokens and `#{Namespace.Variable}` references).
   *
   * @param value the UserParameters text
   */
  public static fromString(value: string): UserParameters {
    return new UserParameters(value);
  }

  /**
   * The object or string as given.
   *
   * @internal
   */
  public readonly _value: unknown;

  private constructor(value: unknown) {
    this._value = value;
  }

  /**
   * The configuration value: plain JSON when the value holds no token (a literal string in the template), otherwise
   * `Stack.toJsonString` (an `Fn::Join` in the template).
   *
   * @internal
   */
  public _render(scope: IConstruct): string {
    const value = this._value;
    if (typeof value === 'string') {
      return value;
    }
    warnAboutFreeTextVariables(scope, value);
    return containsToken(value) ? Stack.of(scope).toJsonString(value) : JSON.stringify(value);
  }
}

/**
 * Warns, naming the field, about each string of JSON parameters that holds a free-text variable: CodePipeline
 * substitutes the value textually into the JSON string, and a quote, a backslash or a line break in it breaks the JSON
 * (aws-cdk #31213), failing the job at run time.
 */
function warnAboutFreeTextVariables(scope: IConstruct, value: unknown): void {
  const visit = (node: unknown, segments: Array<string | number>): void => {
    if (typeof node === 'string') {
      const match = FREE_TEXT_VARIABLE.exec(node);
      if (match !== null) {
        const path = fieldPath(segments);
        const field = path === '' ? 'userParameters' : `userParameters${path.startsWith('[') ? '' : '.'}${path}`;
        Annotations.of(scope).addWarningV2(
          FREE_TEXT_VARIABLE_WARNING_ID,
          `${field} places the variable ${match[1]} (free text) inside a JSON string. CodePipeline substitutes it textually, so ` +
            'a value with a quote, a backslash or a line break breaks the JSON and the job fails (aws-cdk #31213). Pass the ' +
            "value through an artifact, or give it outside a JSON string (UserParameters.fromString('#{...}'), read as " +
            'job.rawUserParameters).',
        );
      }
    } else if (Array.isArray(node)) {
      node.forEach((item, i) => visit(item, [...segments, i]));
    } else if (isPlainObject(node)) {
      for (const [key, child] of Object.entries(node)) {
        visit(key, segments);
        visit(child, [...segments, key]);
      }
    }
  };
  visit(value, []);
}
