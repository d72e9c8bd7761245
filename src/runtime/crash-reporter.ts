/**
 * The crash reporter: the Lambda function every PipelineJobFunction names as its async `onFailure` destination.
 *
 * When a job handler crashes, times out or runs out of memory on every attempt, it never reports the job, and the
 * pipeline would wait for the action's timeout (up to an hour) with no explanation. Lambda then hands the failed event
 * to this function in an invocation record; we fail the job right away with what went wrong.
 *
 * Record shape (Lambda async invocation destinations):
 *   { version, timestamp, requestContext: { requestId, functionArn, condition, approximateInvokeCount },
 *     requestPayload: <the CodePipeline event>, responseContext: { statusCode, executedVersion, functionError },
 *     responsePayload: { errorType, errorMessage, trace } }
 */
import { createJsonLogger, withAttributes } from './logger';
import { defaultCodePipelineClient, FailureReport, failureMessage, putJobFailure, ReportDeadline } from './report';
import { truncateWithMarker } from './text';
import { InvalidJobEventError } from '../shared/errors';
import { findJobId, parseJobEvent } from '../shared/event';
import { CRASH_REPORTER_TARGETS_ENV, JobResultTarget, jobResultTargetFor } from '../shared/job-result-target';
import { isJsonObject } from '../shared/json-value';
import { EXTERNAL_EXECUTION_ID_MAX_LENGTH, FAILURE_MESSAGE_MAX_LENGTH } from '../shared/limits';

/** What the crash reporter will report for one failure record. */
export interface CrashFailure {
  readonly jobId: string;
  readonly failure: FailureReport;
  /** Set when the event was not a valid job event but still carried a job id. */
  readonly eventProblem?: string;
  /** The ARN of the function that failed (`requestContext.functionArn`), when the record names it. */
  readonly functionArn?: string;
}

/**
 * Reads a Lambda failure record into the job failure to report. Pure: no I/O.
 * Throws `InvalidJobEventError` when the record carries no CodePipeline job id (nothing can be reported then).
 */
export function failureFromRecord(record: unknown): CrashFailure {
  const fields = asObject(record);
  if (fields === undefined) {
    throw new InvalidJobEventError('', 'is not a Lambda invocation record (an object)');
  }
  const { jobId, eventProblem } = jobIdOf(fields.requestPayload);
  const requestContext = asObject(fields.requestContext) ?? {};
  const responseContext = asObject(fields.responseContext) ?? {};
  const response = asObject(fields.responsePayload) ?? {};
  const requestId = nonEmptyString(requestContext.requestId);
  return {
    jobId,
    failure: {
      type: 'JobFailed',
      message: failureMessage(crashMessage(response, responseContext, requestContext)),
      ...(requestId !== undefined && requestId.length <= EXTERNAL_EXECUTION_ID_MAX_LENGTH ? { externalExecutionId: requestId } : {}),
    },
    ...(eventProblem !== undefined ? { eventProblem } : {}),
    ...(nonEmptyString(requestContext.functionArn) !== undefined ? { functionArn: nonEmptyString(requestContext.functionArn) } : {}),
  };
}

/**
 * Where to report the failed function's job: the function may run in another account or region than its pipeline,
 * and one reporter serves every job function of its stack, so the target is looked up per record in the reporter's
 * map (src/shared/job-result-target.ts). A function the map does not name reports to the reporter's own account and
 * region, as the function itself does.
 */
export function targetOf(crash: CrashFailure, targetsJson: string | undefined): JobResultTarget {
  return jobResultTargetFor(targetsJson, crash.functionArn);
}

/** The Lambda entry point (src/crash-reporter.lambda.ts re-exports it). */
export async function handler(record: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<void> {
  const logger = createJsonLogger({ attributes: { service: 'cdk-codepipeline-invoke-crash-reporter' } });
  let crash: CrashFailure;
  try {
    crash = failureFromRecord(record);
  } catch (error) {
    if (error instanceof InvalidJobEventError) {
      // Retrying cannot help, and throwing would only send this record around again.
      logger.error('Not a failure record of a CodePipeline job: nothing to report', { error });
      return;
    }
    throw error;
  }
  const jobLogger = withAttributes(logger, { correlationId: crash.jobId });
  if (crash.eventProblem !== undefined) {
    jobLogger.warn('The failed event is not a valid CodePipeline job event; reporting the failure anyway', { problem: crash.eventProblem });
  }
  jobLogger.info('Reporting the crashed job as failed', { failureType: crash.failure.type, failureMessage: crash.failure.message });
  // Retries of a throttled report go on while this invocation has time (keeping 2 s to log and return); without a
  // Lambda context (tests, local runs) report.ts bounds them itself.
  const remaining = context?.getRemainingTimeInMillis?.bind(context);
  const deadline: ReportDeadline | undefined = remaining !== undefined ? { remainingTimeMs: remaining, reserveMs: 2_000 } : undefined;
  let target: JobResultTarget = {};
  try {
    target = targetOf(crash, process.env[CRASH_REPORTER_TARGETS_ENV]);
  } catch (error) {
    jobLogger.error('The map of job-result targets is unreadable; reporting in this account and region', { error });
  }
  if (target.roleArn !== undefined || target.region !== undefined) {
    jobLogger.info('Reporting to the pipeline in another account or region', { ...target });
  }
  await putJobFailure(defaultCodePipelineClient(target), crash.jobId, crash.failure, jobLogger, deadline);
}

function jobIdOf(payload: unknown): { jobId: string; eventProblem?: string } {
  try {
    return { jobId: parseJobEvent(payload)['CodePipeline.job'].id };
  } catch (error) {
    const jobId = findJobId(payload);
    if (!(error instanceof InvalidJobEventError) || jobId === undefined) {
      throw error instanceof InvalidJobEventError
        ? new InvalidJobEventError(`requestPayload${error.path === '' ? '' : `.${error.path}`}`, error.problem)
        : error;
    }
    return { jobId, eventProblem: error.message };
  }
}

function crashMessage(
  response: Record<string, unknown>,
  responseContext: Record<string, unknown>,
  requestContext: Record<string, unknown>,
): string {
  const errorMessage = nonEmptyString(response.errorMessage);
  const errorType = nonEmptyString(response.errorType);
  const functionError = nonEmptyString(responseContext.functionError);
  const condition = nonEmptyString(requestContext.condition);
  const requestId = nonEmptyString(requestContext.requestId);
  const attempts = typeof requestContext.approximateInvokeCount === 'number' ? requestContext.approximateInvokeCount : undefined;

  const what =
    errorMessage !== undefined
      ? `Lambda function crashed: ${withoutTimeoutPrefix(errorMessage)}`
      : condition === 'EventAgeExceeded'
        ? 'Lambda function never completed: the event expired before an invocation succeeded'
        : 'Lambda function crashed without an error message';
  const details = [
    errorType !== undefined && errorType !== 'Error' ? errorType : undefined,
    functionError !== undefined && errorMessage === undefined ? `function error ${functionError}` : undefined,
    condition !== undefined ? `condition ${condition}` : undefined,
    attempts !== undefined ? `${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}` : undefined,
    requestId !== undefined ? `request ${requestId}` : undefined,
  ].filter((d): d is string => d !== undefined);
  // The details go first into the budget: a long error message is cut, the context that identifies the run is not.
  const suffix = details.length > 0 ? ` (${details.join(', ')})` : '';
  return `${truncateWithMarker(what, FAILURE_MESSAGE_MAX_LENGTH - suffix.length)}${suffix}`;
}

/**
 * Lambda's timeout message starts with a timestamp and the request id ("2024-05-01T10:00:00.000Z 3c1f... Task timed
 * out after 300.00 seconds"); the request id is shown in the details already.
 */
function withoutTimeoutPrefix(message: string): string {
  const match = /^\d{4}-\d{2}-\d{2}T\S+Z \S+ (Task timed out after .*)$/s.exec(message);
  return match ? match[1] : message;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return isJsonObject(value) ? value : undefined;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
