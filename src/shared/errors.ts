import { formatViolations, SchemaViolation } from './field-path';
import { FAILURE_TYPES, FailureType } from './limits';

/**
 * The Lambda event is not a CodePipeline job event the runtime can work with. `path` is the dotted path of the first
 * bad field, e.g. `CodePipeline.job.data.inputArtifacts[0].location.s3Location.bucketName`.
 *
 * The message never contains a value of `artifactCredentials` (the event carries live credentials).
 */
export class InvalidJobEventError extends Error {
  /** The dotted path of the bad field; '' when the event itself is not an object. */
  public readonly path: string;
  /** What is wrong with the field, e.g. 'must be a string, got a number'. */
  public readonly problem: string;

  constructor(path: string, problem: string) {
    super(`Invalid CodePipeline job event: ${path === '' ? 'the event' : path} ${problem}`);
    this.name = 'InvalidJobEventError';
    this.path = path;
    this.problem = problem;
  }
}

/**
 * The action's UserParameters do not satisfy the handler's schema (or are not JSON). The job fails as
 * `ConfigurationError`: fixing it means changing the pipeline, not retrying.
 */
export class UserParametersError extends Error {
  public readonly violations: SchemaViolation[];
  public readonly failureType: FailureType = 'ConfigurationError';

  constructor(violations: readonly SchemaViolation[]) {
    super(`UserParameters: ${violations.length === 0 ? 'invalid' : formatViolations(violations)}`);
    this.name = 'UserParametersError';
    this.violations = [...violations];
  }
}

/**
 * Throw this from a job handler to fail the job with a chosen failure type (default `JobFailed`). Any other error
 * fails the job as `JobFailed` too; this class only adds the type.
 */
export class JobFailedError extends Error {
  public readonly failureType: FailureType;

  constructor(message: string, failureType: FailureType = 'JobFailed') {
    super(message);
    this.name = 'JobFailedError';
    if (!isFailureType(failureType)) {
      // A JavaScript caller may pass anything; PutJobFailureResult would answer with a ValidationException.
      throw new TypeError(`JobFailedError: failureType must be one of ${FAILURE_TYPES.join(', ')}, got ${JSON.stringify(failureType)}`);
    }
    this.failureType = failureType;
  }
}

/** Whether `value` is one of the `FailureType` values of the CodePipeline API model. */
export function isFailureType(value: unknown): value is FailureType {
  return typeof value === 'string' && (FAILURE_TYPES as readonly string[]).includes(value);
}
