import { IConstruct } from 'constructs';

/**
 * A prop (or argument) a construct or a CDK Pipelines step rejects at synth time. The message starts with where the
 * error is (the construct path, or the step for a step not yet in a construct tree), then the field and what is wrong
 * with it: 'Stack/Deploy: userParameters is empty ...'.
 *
 * Shaped like aws-cdk-lib's own `ValidationError` (name, `type`, `constructPath`), which aws-cdk-lib marks `@internal`
 * and builds from a private string type, so a library cannot throw it; this one adds the field.
 */
export class ValidationError extends Error {
  /** The construct path, when the error is attached to a construct. */
  public readonly constructPath?: string;

  /** The prop or argument the error is about, as the user wrote it (`userParameters`, `variablesNamespace`). */
  public readonly field: string;

  constructor(where: string, field: string, detail: string, constructPath?: string) {
    super(`${where}: ${field} ${detail}`);
    this.name = 'ValidationError';
    this.field = field;
    this.constructPath = constructPath;
  }

  /** Always 'validation', as aws-cdk-lib's `ValidationError.type`. */
  public get type(): 'validation' {
    return 'validation';
  }
}

/** An error about a field of a construct: 'Stack/Deploy: userParameters is empty ...'. */
export function fieldError(scope: IConstruct, field: string, detail: string): ValidationError {
  return new ValidationError(describePath(scope.node.path), field, detail, scope.node.path);
}

/** The same, for a construct not created yet (checked before `super()`): its path is the scope's path + id. */
export function childFieldError(scope: IConstruct, id: string, field: string, detail: string): ValidationError {
  const path = scope.node.path === '' ? id : `${scope.node.path}/${id}`;
  return new ValidationError(describePath(path), field, detail, path);
}

/**
 * An error about a field of a `LambdaInvokeStep` found before CDK Pipelines builds the pipeline: a step is not a
 * construct, so the step id says where ("LambdaInvokeStep 'Check': input must be ...").
 */
export function stepFieldError(stepId: string, field: string, detail: string): ValidationError {
  return new ValidationError(`LambdaInvokeStep '${stepId}'`, field, detail);
}

function describePath(path: string): string {
  return path === '' ? '(app)' : path;
}
