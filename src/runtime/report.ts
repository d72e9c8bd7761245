/**
 * Reporting a job's result to CodePipeline, the one place where PutJobSuccessResult / PutJobFailureResult are called.
 */
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobFailureResultInput,
  PutJobSuccessResultCommand,
  PutJobSuccessResultInput,
} from '@aws-sdk/client-codepipeline';
import { MAX_TIMER_MS, sleep } from './abort';
import { JobReportError } from './errors';
import { jobResultRoleCredentials, JobResultRoleError } from './job-result-role';
import { Logger } from './logger';
import { errorName, isClientError, isRetryable, nextAttempt, RetryPolicy } from './retry';
import { truncateWithMarker } from './text';
import { JobResultTarget, jobResultTargetFromEnvironment } from '../shared/job-result-target';
import { FAILURE_MESSAGE_MAX_LENGTH, FailureType } from '../shared/limits';

/**
 * What happened to a report. 'success-refused': CodePipeline refused the success report with a client error that a
 * retry cannot fix (e.g. a ValidationException), and the job was reported failed instead, saying why.
 */
export type ReportOutcome = 'reported' | 'already-ended' | 'job-not-found' | 'success-refused';

/**
 * How long a report may keep retrying: until `remainingTimeMs()` falls under `reserveMs`. The reserve is what is left
 * for the invocation to end on its own terms (throw, log, clean up) before Lambda stops it.
 */
export interface ReportDeadline {
  readonly remainingTimeMs: () => number;
  readonly reserveMs: number;
}

/**
 * Without a deadline (no Lambda context: tests, local runs, a hand-called handler) reports retry for this long: a
 * third of the crash reporter function's 30-second timeout.
 */
export const REPORT_RETRY_BUDGET_WITHOUT_DEADLINE_MS = 10_000;
/**
 * Reports retry throttling and 5xx errors with exponential backoff and jitter, as AWS recommends
 * (https://docs.aws.amazon.com/general/latest/gr/api-retries.html), as many times as the deadline allows. The cap keeps
 * a long throttling spell from using up a short function's remaining time in one wait.
 */
const REPORT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 50, maxDelayMs: 2_000 });

const clients = new Map<string, CodePipelineClient>();

/**
 * One CodePipeline client per Lambda execution environment and target, created on first use (no work at import time).
 * Region from AWS_REGION; the endpoint from AWS_ENDPOINT_URL_CODEPIPELINE when set, which the SDK honours itself.
 * Credentials are the function's own role: reporting needs codepipeline:PutJob*Result, not the artifact credentials.
 *
 * A function in another account or region than its pipeline reports where the job lives, as its environment says
 * (src/shared/job-result-target.ts): with the credentials of the job-result role of the pipeline's account, assumed
 * through STS and cached for their lifetime, and in the pipeline's region.
 *
 * The SDK reads that configuration once per client, so the cache is keyed by it: on Lambda it never changes, while a
 * local run (`runJob`) may point the same process at a new emulator.
 */
export function defaultCodePipelineClient(target: JobResultTarget = jobResultTargetFromEnvironment(process.env)): CodePipelineClient {
  const env = process.env;
  const configuration = [env.AWS_ENDPOINT_URL_CODEPIPELINE, env.AWS_ENDPOINT_URL, env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_PROFILE].join('|');
  const key = `${target.roleArn ?? ''}|${target.region ?? ''}`;
  let client = clients.get(key);
  if (client !== undefined && clientConfigurations.get(client) !== configuration) {
    client.destroy();
    client = undefined;
  }
  if (client === undefined) {
    client = new CodePipelineClient({
      ...(target.region !== undefined ? { region: target.region } : {}),
      ...(target.roleArn !== undefined ? { credentials: jobResultRoleCredentials(target.roleArn) } : {}),
    });
    clients.set(key, client);
    clientConfigurations.set(client, configuration);
  }
  return client;
}

const clientConfigurations = new WeakMap<CodePipelineClient, string>();

export interface FailureReport {
  readonly type: FailureType;
  readonly message: string;
  readonly externalExecutionId?: string;
}

/** A failure message the API accepts: 1 to 5000 characters (API model `Message`), with a marker where it was cut. */
export function failureMessage(message: string): string {
  const text = message.trim() === '' ? 'The job failed without a message' : message;
  return truncateWithMarker(text, FAILURE_MESSAGE_MAX_LENGTH);
}

export async function putJobFailure(
  client: CodePipelineClient,
  jobId: string,
  failure: FailureReport,
  logger: Logger,
  deadline?: ReportDeadline,
): Promise<ReportOutcome> {
  const input: PutJobFailureResultInput = {
    jobId,
    failureDetails: {
      type: failure.type,
      message: failureMessage(failure.message),
      ...(failure.externalExecutionId !== undefined ? { externalExecutionId: failure.externalExecutionId } : {}),
    },
  };
  return send((abortSignal) => client.send(new PutJobFailureResultCommand(input), { abortSignal }), 'PutJobFailureResult', jobId, logger, deadline);
}

/**
 * Reports a success (or a continuation). When CodePipeline refuses it with a client error a retry cannot fix (a
 * ValidationException for an output variable or execution detail the API will not take, an
 * OutputVariablesSizeExceededException, a missing permission...), the job is reported failed instead, with a message
 * saying that the success report was refused and why: otherwise the action would wait until it times out.
 */
export async function putJobSuccess(
  client: CodePipelineClient,
  input: PutJobSuccessResultInput,
  logger: Logger,
  deadline?: ReportDeadline,
): Promise<ReportOutcome> {
  try {
    return await send(
      (abortSignal) => client.send(new PutJobSuccessResultCommand(input), { abortSignal }),
      'PutJobSuccessResult',
      input.jobId ?? '',
      logger,
      deadline,
    );
  } catch (error) {
    if (!(error instanceof SuccessRefused)) throw error;
    const refusal = error.cause;
    const failure: FailureReport = {
      type: 'JobFailed',
      message: refusedSuccessMessage(input, refusal),
      ...(input.executionDetails?.externalExecutionId !== undefined ? { externalExecutionId: input.executionDetails.externalExecutionId } : {}),
    };
    logger.error('PutJobSuccessResult was refused; reporting the job failed instead', { error: refusal });
    const outcome = await putJobFailure(client, input.jobId!, failure, logger, deadline);
    return outcome === 'reported' ? 'success-refused' : outcome;
  }
}

function refusedSuccessMessage(input: PutJobSuccessResultInput, refusal: unknown): string {
  const variables = Object.keys(input.outputVariables ?? {});
  const sent = [
    input.continuationToken !== undefined ? `a continuation token of ${input.continuationToken.length} characters` : undefined,
    variables.length > 0 ? `output variables ${variables.join(', ')}` : undefined,
    input.executionDetails?.summary !== undefined ? `a summary of ${input.executionDetails.summary.length} characters` : undefined,
  ].filter((part): part is string => part !== undefined);
  return (
    `${input.continuationToken !== undefined ? 'The handler asked to continue the job later' : 'The handler succeeded'}, but CodePipeline ` +
    `refused its success report (${describeError(refusal)}), so the job is reported failed instead.` +
    (sent.length > 0 ? ` The report carried ${sent.join(', ')}.` : '')
  );
}

/** The success report got a client error that retrying cannot fix (carried to putJobSuccess, never thrown further). */
class SuccessRefused extends Error {
  constructor(readonly cause: unknown) {
    super(describeError(cause));
    this.name = 'SuccessRefused';
  }
}

/**
 * Sends one report, retrying what may pass on a later attempt: throttling, 5xx answers and network errors (beyond the
 * SDK's own attempts), with backoff and jitter, for as long as the deadline allows. Each attempt is aborted when the
 * time runs out, so the invocation ends with an error (Lambda retries it; at last the crash reporter reports) instead
 * of being stopped by Lambda in the middle of a request.
 *
 * Two API errors are expected in normal operation and are logged, not thrown:
 * - InvalidJobStateException: the job already ended. Lambda delivers async events at least once and retries failed
 *   invocations, so a second report for the same job happens; the first one won.
 * - JobNotFoundException: the job is gone (expired or from another account/region); retrying cannot help.
 * Other client errors (validation, permissions) are not retried: a refused success report becomes a failure report
 * (see putJobSuccess); a refused failure report is thrown.
 */
async function send(
  call: (abortSignal: AbortSignal) => Promise<unknown>,
  operation: 'PutJobSuccessResult' | 'PutJobFailureResult',
  jobId: string,
  logger: Logger,
  given: ReportDeadline | undefined,
): Promise<ReportOutcome> {
  const deadline =
    given !== undefined && Number.isFinite(given.remainingTimeMs()) ? given : budgetFromNow(REPORT_RETRY_BUDGET_WITHOUT_DEADLINE_MS);
  const timeLeft = () => deadline.remainingTimeMs() - deadline.reserveMs;
  // What the service said last: an attempt cut short by the deadline reports it instead of the abort.
  let lastServiceError: unknown;
  for (let attempt = 1; ; attempt++) {
    const left = timeLeft();
    const controller = new AbortController();
    // A request that hangs must not outlive the invocation: aborted when the time left is used up.
    const timer = setTimeout(() => controller.abort(), Math.min(Math.max(0, left), MAX_TIMER_MS));
    try {
      await call(controller.signal);
      return 'reported';
    } catch (error) {
      const name = errorName(error);
      if (name === 'InvalidJobStateException') {
        logger.warn(`${operation}: the job has already ended (a duplicate delivery?); nothing to report`, { error });
        return 'already-ended';
      }
      if (name === 'JobNotFoundException') {
        logger.error(`${operation}: CodePipeline does not know this job; nothing to report`, { error });
        return 'job-not-found';
      }
      if (controller.signal.aborted) {
        const earlier = lastServiceError !== undefined ? `; the attempt before it failed with ${describeError(lastServiceError)}` : '';
        throw new JobReportError(
          `${operation} did not complete within the invocation's remaining time (attempt ${attempt}, ${Math.max(0, Math.round(left))} ms left ` +
            `for it${earlier}); the invocation fails so that Lambda retries it`,
          error,
          attempt,
        );
      }
      lastServiceError = error;
      const roleError = jobResultRoleErrorOf(error);
      if (roleError !== undefined && !isRetryable(roleError.cause)) {
        // Without the role nothing can be reported, a failure no more than the success: say what was tried.
        throw new JobReportError(`${operation}: could not assume ${roleError.roleArn} to report job ${jobId}: ${describeError(roleError.cause)}`, error, attempt);
      }
      if (!isRetryable(roleError?.cause ?? error)) {
        if (operation === 'PutJobSuccessResult' && isClientError(error)) throw new SuccessRefused(error);
        throw error;
      }
      const next = nextAttempt(REPORT_RETRY_POLICY, attempt, timeLeft());
      if ('stop' in next) {
        throw new JobReportError(
          `${operation} failed ${attempt} time${attempt === 1 ? '' : 's'} and the invocation has no time left to retry; ` +
            `last error: ${describeError(error)}. The invocation fails so that Lambda retries it`,
          error,
          attempt,
        );
      }
      logger.warn(`${operation} failed (${describeError(error)}); retrying in ${next.delayMs} ms`, { attempt });
      await sleep(next.delayMs, undefined);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The SDK hands a credentials provider's error on as it is, or wrapped (its `cause`). */
function jobResultRoleErrorOf(error: unknown): JobResultRoleError | undefined {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof JobResultRoleError) return e;
  }
  return undefined;
}

function budgetFromNow(ms: number): ReportDeadline {
  const end = Date.now() + ms;
  return { remainingTimeMs: () => end - Date.now(), reserveMs: 0 };
}

function describeError(error: unknown): string {
  const name = errorName(error) ?? 'Error';
  const field = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  const message = typeof field === 'string' && field !== '' ? field : String(error);
  return `${name}: ${message}`;
}
