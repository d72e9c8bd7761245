import { Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { containsToken, isPlainObject } from './private/tokens';

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
   * The value with `mapValue` applied to every node (before its children), e.g. to turn a CDK Pipelines
   * `StackOutputReference` into a `#{Namespace.Variable}` string. Plain objects and arrays are descended into.
   *
   * @internal
   */
  public _mapped(mapValue?: (v: unknown) => unknown): unknown {
    return mapValue ? mapDeep(this._value, mapValue) : this._value;
  }

  /**
   * The configuration value: plain JSON when the value holds no token (a literal string in the template), otherwise
   * `Stack.toJsonString` (an `Fn::Join` in the template).
   *
   * @internal
   */
  public _render(scope: IConstruct, mapValue?: (v: unknown) => unknown): string {
    const value = this._mapped(mapValue);
    if (typeof value === 'string') {
      return value;
    }
    return containsToken(value) ? Stack.of(scope).toJsonString(value) : JSON.stringify(value);
  }
}

function mapDeep(value: unknown, mapValue: (v: unknown) => unknown): unknown {
  const mapped = mapValue(value);
  if (Array.isArray(mapped)) {
    return mapped.map((item) => mapDeep(item, mapValue));
  }
  if (isPlainObject(mapped)) {
    return Object.fromEntries(Object.entries(mapped).map(([k, v]) => [k, mapDeep(v, mapValue)]));
  }
  return mapped;
}
