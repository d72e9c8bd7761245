/**
 * What a job handler returns, and how it becomes a PutJobSuccessResult / PutJobFailureResult request that the API
 * accepts: output variables checked before the call (a clear job failure instead of an API error), texts cut to their
 * limits.
 */
import type { PutJobSuccessResultInput } from '@aws-sdk/client-codepipeline';
import { describeUnserializable, safeJson } from './logger';
import type { FailureReport } from './report';
import { truncateWithMarker, utf8Length } from './text';
import { isFailureType, JobFailedError, UserParametersError } from '../shared/errors';
import { isJsonObject } from '../shared/json-value';
import {
  EXECUTION_SUMMARY_MAX_LENGTH,
  EXTERNAL_EXECUTION_ID_MAX_LENGTH,
  OUTPUT_VARIABLE_NAME_PATTERN,
  OUTPUT_VARIABLES_MAX_BYTES,
  PERCENT_COMPLETE_MAX,
  PERCENT_COMPLETE_MIN,
} from '../shared/limits';

/** What the pipeline console shows about a run. */
export interface Progress {
  /** A short text (cut to 2048 characters). */
  readonly summary?: string;
  /** 0 to 100 (rounded and clamped). */
  readonly percentComplete?: number;
  /**
   * An id of the work in an external system (at most 1500 characters).
   *
   * @default the Lambda request id
   */
  readonly externalExecutionId?: string;
}

/** A successful end of the job. */
export interface JobResult extends Progress {
  /**
   * Output variables, readable by later actions as `#{Namespace.name}`. Names match `[A-Za-z0-9@\-_]+`; all values
   * together at most 122,880 bytes (CodePipeline quotas).
   */
  readonly outputVariables?: { readonly [name: string]: string };
}

const CONTINUE_LATER = Symbol.for('cdk-codepipeline-invoke.continueLater');

/** Returned by `job.continueLater(...)`: the job goes on in a later invocation. Return it from the handler. */
export interface ContinueLater {
  readonly [CONTINUE_LATER]: true;
  readonly token: string;
  readonly progress: Progress;
}

export function continueLaterResult(token: string, progress: Progress): ContinueLater {
  return { [CONTINUE_LATER]: true, token, progress };
}

export function isContinueLater(value: unknown): value is ContinueLater {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CONTINUE_LATER] === true;
}

/** What one invocation reports: a success (or a continuation), or a failure. */
export type Reportable =
  | { readonly kind: 'success'; readonly input: PutJobSuccessResultInput; readonly continues: boolean }
  | { readonly kind: 'failure'; readonly failure: FailureReport };

/** The PutJobSuccessResult input for a handler's result, or a JobFailedError naming what the API would refuse. */
export function successInput(jobId: string, result: JobResult | ContinueLater | void, requestId: string | undefined): PutJobSuccessResultInput {
  if (isContinueLater(result)) {
    return { jobId, continuationToken: result.token, executionDetails: executionDetails(result.progress, requestId) };
  }
  if (result !== undefined && (typeof result !== 'object' || result === null)) {
    throw new JobFailedError(`The handler returned ${typeof result}; return a JobResult object, job.continueLater(...), or nothing`);
  }
  const outputVariables = result?.outputVariables;
  if (outputVariables !== undefined) checkOutputVariables(outputVariables);
  return {
    jobId,
    executionDetails: executionDetails(result ?? {}, requestId),
    ...(outputVariables !== undefined && Object.keys(outputVariables).length > 0 ? { outputVariables: { ...outputVariables } } : {}),
  };
}

/** Refuses output variables CodePipeline would refuse, with a message that says which and why. */
export function checkOutputVariables(variables: { readonly [name: string]: unknown }): void {
  if (!isJsonObject(variables)) {
    throw new JobFailedError('outputVariables must be an object of names to strings');
  }
  const problems: string[] = [];
  let bytes = 0;
  for (const [name, value] of Object.entries(variables)) {
    if (!OUTPUT_VARIABLE_NAME_PATTERN.test(name)) {
      problems.push(`name ${JSON.stringify(name)} does not match [A-Za-z0-9@\\-_]+`);
    }
    if (typeof value !== 'string') {
      problems.push(`${JSON.stringify(name)} must be a string, got ${value === null ? 'null' : typeof value}`);
    } else {
      bytes += utf8Length(value);
    }
  }
  if (bytes > OUTPUT_VARIABLES_MAX_BYTES) {
    problems.push(`the values total ${bytes} bytes, more than the ${OUTPUT_VARIABLES_MAX_BYTES} bytes CodePipeline allows for one action`);
  }
  if (problems.length > 0) {
    throw new JobFailedError(`Invalid output variables: ${problems.join('; ')}`);
  }
}

function executionDetails(progress: Progress, requestId: string | undefined): PutJobSuccessResultInput['executionDetails'] {
  const summary = progress.summary !== undefined && progress.summary !== '' ? truncateWithMarker(String(progress.summary), EXECUTION_SUMMARY_MAX_LENGTH) : undefined;
  const percent = progress.percentComplete;
  const percentComplete =
    typeof percent === 'number' && Number.isFinite(percent)
      ? Math.min(PERCENT_COMPLETE_MAX, Math.max(PERCENT_COMPLETE_MIN, Math.round(percent)))
      : undefined;
  const externalExecutionId = executionId(progress.externalExecutionId ?? requestId);
  const details = {
    ...(summary !== undefined ? { summary } : {}),
    ...(percentComplete !== undefined ? { percentComplete } : {}),
    ...(externalExecutionId !== undefined ? { externalExecutionId } : {}),
  };
  return Object.keys(details).length > 0 ? details : undefined;
}

function executionId(id: string | undefined): string | undefined {
  // An id cut short would point at nothing: leave it out instead.
  return id !== undefined && id !== '' && id.length <= EXTERNAL_EXECUTION_ID_MAX_LENGTH ? id : undefined;
}

/** S3/KMS/STS refusals: fixing them means changing permissions, not code. */
const PERMISSION_ERROR_NAMES = new Set(['AccessDenied', 'AccessDeniedException', 'KMS.AccessDeniedException', 'Forbidden']);

/** An Error, also from another realm (a VM context, a worker) where `instanceof Error` is false. */
function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' && value !== null && typeof (value as Error).message === 'string' && typeof (value as Error).name === 'string')
  );
}

/** The failure to report for what a handler threw. */
export function failureOf(error: unknown, requestId: string | undefined): FailureReport {
  const externalExecutionId = executionId(requestId);
  const withId = (report: Omit<FailureReport, 'externalExecutionId'>): FailureReport =>
    externalExecutionId !== undefined ? { ...report, externalExecutionId } : report;
  if (error instanceof JobFailedError || error instanceof UserParametersError) {
    return withId({ type: error.failureType, message: error.message });
  }
  try {
    if (isErrorLike(error)) {
      // An error class from another copy of this library (two bundles) still carries its type.
      const declared = (error as { failureType?: unknown }).failureType;
      const type = isFailureType(declared) ? declared : PERMISSION_ERROR_NAMES.has(error.name) ? 'PermissionError' : 'JobFailed';
      const message = error.name === 'Error' || error.message.startsWith(`${error.name}:`) ? error.message : `${error.name}: ${error.message}`;
      return withId({ type, message });
    }
    return withId({ type: 'JobFailed', message: `The handler threw ${typeof error === 'string' ? error : thrownValueText(error)}` });
  } catch {
    // A getter of the thrown value threw while it was read: whatever it was, the job still gets a failure.
    return withId({ type: 'JobFailed', message: `The handler threw ${describeUnserializable(error)} that could not be read` });
  }
}

/**
 * The JSON text of a thrown non-error value, or a description of it when it has none: `undefined`, a symbol, a
 * function; a circular object, a BigInt, or a `toJSON` that throws (safeJson describes those).
 */
function thrownValueText(value: unknown): string {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    return describeUnserializable(value);
  }
  return typeof value === 'bigint' ? `the bigint ${value.toString()}` : safeJson(value);
}
