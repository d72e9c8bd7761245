import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { fieldError } from './errors';
import { isPlainObject, isUnresolvedString } from './tokens';
import type { IPipelineJobFunction } from '../pipeline-job-function';
import { USER_PARAMETERS_MAX_LENGTH, USER_PARAMETERS_MIN_LENGTH } from '../shared/limits';
import { describeSecret, findSecrets, SecretFinding } from '../shared/secrets';
import { checkUserParameters, fieldPath, SchemaViolation } from '../shared/user-parameters-check';
import { ANY_VARIABLE_REFERENCE } from '../shared/variable-references';
import { UserParameters } from '../user-parameters';
import { UserParametersSchema } from '../user-parameters-schema';

/** The id of the warning a secret-looking value raises (acknowledge it with `Annotations.acknowledgeWarning`). */
export const SECRET_WARNING_ID = 'cdk-codepipeline-invoke:secretInUserParameters';

/**
 * Checks the UserParameters of a Lambda invoke action and renders them: against the action's own schema (or, without
 * one, the function's), and against the function's schema as well when both are given (the function declares what
 * its handler accepts). What `LambdaInvokeStage` and `LambdaInvokeStep` do with their `userParameters`.
 *
 * @param fieldName the prop, as the user wrote it ('userParameters', 'LambdaInvokeStep(Check).userParameters')
 * @returns the rendered configuration value, or undefined without parameters
 */
export function renderActionUserParameters(
  scope: IConstruct,
  fieldName: string,
  params: UserParameters | undefined,
  actionSchema: UserParametersSchema | undefined,
  fn: lambda.IFunction,
): string | undefined {
  const functionSchema = schemaOfFunction(fn);
  const schema = actionSchema ?? functionSchema;
  const rendered = validateUserParameters(scope, fieldName, params, schema);
  if (params !== undefined && functionSchema !== undefined && functionSchema !== schema) {
    checkAgainstSchema(scope, fieldName, params._value, functionSchema);
  }
  return rendered;
}

/**
 * The schema a job function declares (`IPipelineJobFunction.userParametersSchema`), read by shape rather than by
 * class: a function implementing the interface in another jsii language is a proxy object, not a subclass.
 */
export function schemaOfFunction(fn: lambda.IFunction): UserParametersSchema | undefined {
  const schema = (fn as Partial<IPipelineJobFunction>).userParametersSchema;
  return schema instanceof UserParametersSchema ? schema : undefined;
}

/**
 * Checks UserParameters at synth time and renders them. Throws an error naming `scope.node.path` and the field when:
 * the value violates the schema (tokens and `#{...}` references pass where a string is expected), the rendered text is
 * longer than CodePipeline accepts (when knowable: at construction without tokens, at synth from the literal parts of
 * an `Fn::Join`), or is empty. Adds a warning annotation for values that look like secrets.
 *
 * @param fieldName the prop, as the user wrote it ('userParameters')
 * @returns the rendered configuration value, or undefined without parameters
 */
export function validateUserParameters(
  scope: IConstruct,
  fieldName: string,
  params: UserParameters | undefined,
  schema: UserParametersSchema | undefined,
): string | undefined {
  if (params === undefined) {
    if (schema !== undefined) {
      throw fieldError(scope, fieldName, 'is missing, but a userParametersSchema describes the parameters the function expects');
    }
    return undefined;
  }
  const value = params._value;
  if (schema !== undefined) {
    checkAgainstSchema(scope, fieldName, value, schema);
  }
  warnAboutSecrets(scope, fieldName, findSecrets(value, { isUnresolved: isUnresolvedString }));
  const rendered = params._render(scope);
  checkRenderedLength(scope, fieldName, rendered);
  return rendered;
}

/** Checks the value of UserParameters against one schema; throws naming every violating field. */
export function checkAgainstSchema(scope: IConstruct, fieldName: string, value: unknown, schema: UserParametersSchema): void {
  const checkable = checkableValue(value);
  if (checkable === undefined) {
    return;
  }
  const violations = checkUserParameters(schema.schema, checkable.value, { isUnresolved: isUnresolvedString }).filter(
    (v) => !checkable.unknownPaths.has(v.path),
  );
  if (violations.length > 0) {
    const details = violations.map((v) => `${qualify(fieldName, v)}: ${v.message}`).join('; ');
    throw fieldError(scope, fieldName, `do not match the userParametersSchema: ${details}`);
  }
}

interface CheckableValue {
  /** Plain JSON data; IResolvable objects became string tokens. */
  readonly value: unknown;
  /** Fields holding number tokens: their value is unknown, so no violation there is real. */
  readonly unknownPaths: ReadonlySet<string>;
}

/**
 * The value to check: a string is parsed as JSON (undefined when it is not JSON only because of tokens or `#{...}`
 * references, whose substituted text is unknown); IResolvable objects become string tokens.
 */
function checkableValue(value: unknown): CheckableValue | undefined {
  const unknownPaths = new Set<string>();
  if (typeof value === 'string') {
    try {
      return { value: JSON.parse(value), unknownPaths };
    } catch {
      return isUnresolvedString(value) ? undefined : { value, unknownPaths };
    }
  }
  const visit = (node: unknown, segments: Array<string | number>): unknown => {
    if (typeof node === 'number' && Token.isUnresolved(node)) {
      unknownPaths.add(fieldPath(segments));
      return node;
    }
    if (typeof node === 'object' && node !== null && !Array.isArray(node) && !isPlainObject(node) && Token.isUnresolved(node)) {
      return Token.asString(node);
    }
    if (Array.isArray(node)) {
      return node.map((item, i) => visit(item, [...segments, i]));
    }
    if (isPlainObject(node)) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v, [...segments, k])]));
    }
    return node;
  };
  return { value: visit(value, []), unknownPaths };
}

function checkRenderedLength(scope: IConstruct, fieldName: string, rendered: string): void {
  if (!Token.isUnresolved(rendered)) {
    checkLiteralLength(scope, fieldName, rendered, 'exact');
    return;
  }
  // The literal parts of the Fn::Join are known only at synth; check them then, and look for resolved secrets.
  const construct = scope;
  construct.node.addValidation({
    validate: () => {
      const resolved = Stack.of(construct).resolve(rendered);
      const literal = literalText(resolved);
      const errors: string[] = [];
      try {
        checkLiteralLength(construct, fieldName, literal, 'at least');
      } catch (e) {
        errors.push((e as Error).message);
      }
      const reason = describeSecret(JSON.stringify(resolved));
      if (reason !== undefined) {
        warnAboutSecrets(construct, fieldName, [{ path: '', reason }]);
      }
      return errors;
    },
  });
}

/**
 * Throws when the text is surely too long: the part outside `#{...}` references alone exceeds the limit (the references
 * are substituted before CodePipeline checks the length), or surely empty.
 */
function checkLiteralLength(scope: IConstruct, fieldName: string, text: string, kind: 'exact' | 'at least'): void {
  const fixedLength = text.replace(ANY_VARIABLE_REFERENCE, '').length;
  if (fixedLength > USER_PARAMETERS_MAX_LENGTH) {
    const hasReferences = fixedLength !== text.length;
    const measured = kind === 'exact' && !hasReferences ? `${text.length}` : `at least ${fixedLength}`;
    throw fieldError(
      scope,
      fieldName,
      `renders to ${measured} characters, more than the ${USER_PARAMETERS_MAX_LENGTH} CodePipeline accepts for an action ` +
        'configuration value (pass large data as an input artifact, or a reference such as an S3 key or an SSM parameter name)',
    );
  }
  if (kind === 'exact' && text.length < USER_PARAMETERS_MIN_LENGTH) {
    throw fieldError(scope, fieldName, `is empty; CodePipeline needs at least ${USER_PARAMETERS_MIN_LENGTH} character (omit the prop instead)`);
  }
}

/** The literal text of a resolved value: the string itself, or the string parts of an Fn::Join. */
function literalText(resolved: unknown): string {
  if (typeof resolved === 'string') {
    return resolved;
  }
  if (isPlainObject(resolved) && Array.isArray(resolved['Fn::Join'])) {
    const [separator, parts] = resolved['Fn::Join'] as [string, unknown[]];
    return (parts ?? []).filter((p): p is string => typeof p === 'string').join(separator);
  }
  return '';
}

function warnAboutSecrets(scope: IConstruct, fieldName: string, findings: readonly SecretFinding[]): void {
  for (const finding of findings) {
    Annotations.of(scope).addWarningV2(
      SECRET_WARNING_ID,
      `${qualify(fieldName, finding)} ${finding.reason}. UserParameters are visible in the CodePipeline console and in ` +
        'every job event: pass the name or ARN of a Secrets Manager secret and read it in the function instead.',
    );
  }
}

function qualify(fieldName: string, violation: Pick<SchemaViolation, 'path'>): string {
  if (violation.path === '') {
    return fieldName;
  }
  return violation.path.startsWith('[') ? `${fieldName}${violation.path}` : `${fieldName}.${violation.path}`;
}
