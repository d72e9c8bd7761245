import { Token } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import { IConstruct } from 'constructs';
import { fieldError } from './errors';
import {
  ACTION_NAMESPACE_PATTERN,
  OUTPUT_VARIABLE_NAME_PATTERN,
  PIPELINE_NAME_MAX_LENGTH,
  PIPELINE_NAME_PATTERN,
} from '../shared/limits';

/** Stage and action names: CodePipeline rejects anything else at deployment, long after synth. */
export function validatePipelineName(scope: IConstruct, fieldName: string, value: string | undefined): void {
  validateAgainst(scope, fieldName, value, PIPELINE_NAME_PATTERN, PIPELINE_NAME_MAX_LENGTH);
}

/** The action's variable namespace: like a name, but without '.' (it separates namespace and variable). */
export function validateNamespace(scope: IConstruct, fieldName: string, value: string | undefined): void {
  validateAgainst(scope, fieldName, value, ACTION_NAMESPACE_PATTERN, PIPELINE_NAME_MAX_LENGTH);
}

/** An output variable name, as the function reports it in `outputVariables`. */
export function validateVariableName(scope: IConstruct, fieldName: string, value: string): void {
  validateAgainst(scope, fieldName, value, OUTPUT_VARIABLE_NAME_PATTERN, undefined);
}

/** Says whether CodePipeline accepts the value as a variables namespace (a token is left for CodePipeline to judge). */
export function isValidNamespace(value: string): boolean {
  return isValid(value, ACTION_NAMESPACE_PATTERN, PIPELINE_NAME_MAX_LENGTH);
}

/** Says whether CodePipeline accepts the value as an output variable name (a token is left for CodePipeline to judge). */
export function isValidVariableName(value: string): boolean {
  return isValid(value, OUTPUT_VARIABLE_NAME_PATTERN, undefined);
}

/** A Lambda invoke action takes 0 to `max` input (or output) artifacts. */
export function validateArtifactCount(
  scope: IConstruct,
  fieldName: string,
  artifacts: readonly codepipeline.Artifact[] | undefined,
  max: number,
): void {
  const count = artifacts?.length ?? 0;
  if (count > max) {
    throw fieldError(scope, fieldName, `has ${count} artifacts; a Lambda invoke action takes at most ${max}`);
  }
}

function validateAgainst(
  scope: IConstruct,
  fieldName: string,
  value: string | undefined,
  pattern: RegExp,
  maxLength: number | undefined,
): void {
  if (value === undefined || isValid(value, pattern, maxLength)) {
    return;
  }
  const limit = maxLength !== undefined ? `, at most ${maxLength} characters` : '';
  throw fieldError(scope, fieldName, `must match ${pattern.source}${limit} (got ${JSON.stringify(value)})`);
}

function isValid(value: string, pattern: RegExp, maxLength: number | undefined): boolean {
  if (Token.isUnresolved(value)) {
    return true;
  }
  return pattern.test(value) && (maxLength === undefined || value.length <= maxLength);
}
