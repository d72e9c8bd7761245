/**
 * jobHandler: turns a function of a job into a Lambda handler that always reports the job's outcome to CodePipeline.
 */
import type { CodePipelineClient, PutJobSuccessResultInput } from '@aws-sdk/client-codepipeline';
import { MAX_TIMER_MS } from './abort';
import { decodeContinuation } from './continuation';
import { combineFeatures, jsonSchema, readArtifacts, RuntimeFeature, writeArtifacts } from './features';
import { correlatedLogger, createJsonLogger, Logger, withAttributes } from './logger';
import { Job, LambdaContextLike, PipelineJob } from './pipeline-job';
import { defaultCodePipelineClient, FailureReport, putJobFailure, putJobSuccess, ReportDeadline, ReportOutcome } from './report';
import { ContinueLater, continueLaterResult, failureOf, isContinueLater, JobResult, successInput } from './results';
import { defaultS3ClientFactory, S3ClientFactory } from './s3';
import type { StandardSchemaV1 } from './standard-schema';
import { userParametersReader } from './user-parameters';
import { ExtractionLimits, resolveLimits } from './zip/safety';
import { InvalidJobEventError, JobFailedError, UserParametersError } from '../shared/errors';
import { CodePipelineJobEvent, findJobId, parseJobEvent } from '../shared/event';

export interface JobHandlerOptions {
  /**
   * The schema of the UserParameters, either
   * - a JSON Schema: the same object literal given to `UserParametersSchema.fromJsonSchema` in the stack, or
   * - any Standard Schema (https://standardschema.dev: zod 4, valibot, arktype...): `job.userParameters` is then the
   *   schema's output, typed without a generic (with zod, `z.toJSONSchema(schema)` gives the stack its JSON Schema).
   *
   * The parameters are parsed as JSON and checked before the handler body runs; a violation fails the job as
   * `ConfigurationError` naming the field (`targets[0].url`), the same way for both kinds of schema.
   *
   * @default - no check; `job.userParameters` is the parsed JSON when the text is JSON, else the text
   */
  readonly schema?: object | StandardSchemaV1;
  /**
   * Where log lines go: any logger with `debug`/`info`/`warn`/`error`; Powertools for AWS Lambda's `Logger` fits. The
   * job id becomes the correlation id: through `setCorrelationId` (Powertools: the `correlation_id` key) or
   * `appendKeys({ correlationId })` when the logger has them, else as `correlationId` on every line. Credentials are
   * redacted from whatever the runtime and `job.logger` log through it.
   *
   * @default - JSON lines on stdout, level from POWERTOOLS_LOG_LEVEL / LOG_LEVEL / AWS_LAMBDA_LOG_LEVEL
   */
  readonly logger?: Logger;
  /**
   * The client that reports results.
   *
   * @default - one client per execution environment: region from AWS_REGION, endpoint from the SDK's configuration
   * (e.g. AWS_ENDPOINT_URL_CODEPIPELINE), the function role's credentials
   */
  readonly codePipelineClient?: CodePipelineClient;
  /**
   * Builds the S3 client for artifacts from the event's artifact credentials.
   *
   * @default - a new S3Client per invocation with those credentials, region from AWS_REGION
   */
  readonly s3Client?: S3ClientFactory;
  /**
   * Zip-bomb limits for every input artifact of this handler (each call can raise them again).
   *
   * @default DEFAULT_EXTRACTION_LIMITS (2 GiB, 100,000 entries, 200:1)
   */
  readonly extractionLimits?: Partial<ExtractionLimits>;
  /**
   * How long before the function's timeout the runtime stops waiting for the handler and reports the job itself, so
   * that the job never stays unreported until the action times out (a Lambda timeout would only reach the crash
   * reporter, minutes later, after Lambda's retries). Reporting takes one API call (retried within this margin when
   * throttled); the margin also leaves room for a slow network and for cleaning up. Only with a Lambda context (its
   * `getRemainingTimeInMillis()`); without one there is no deadline.
   *
   * @default - 10 seconds, but at most a fifth of the time the invocation has when it starts: 10 s of the
   * PipelineJobFunction's 5 minutes, 6 s of a 30-second function, 0.6 s of Lambda's 3-second default
   */
  readonly deadlineMarginMs?: number;
  /**
   * What is reported when the deadline comes while the handler still runs. `job.signal` is aborted in both cases,
   * and what the handler does afterwards (returns, throws) is ignored: the job is reported once.
   *
   * - `'fail'`: PutJobFailureResult "The job exceeded the function's timeout while <what it was doing>", with the
   *   figures.
   * - `'continue'`: for work done in resumable steps. The job continues in a new invocation from the latest
   *   `job.checkpoint(state, progress)` of this one (a success with a continuation token; `job.continuation` is then
   *   `state`). Without a checkpoint in this invocation the job fails as with `'fail'`: continuing from the same place
   *   again would loop. A continued job may run up to CodePipeline's 24 hours if each invocation reports within 20
   *   minutes (CodePipeline quotas).
   *
   * @default 'fail'
   */
  readonly onDeadline?: 'fail' | 'continue';
}

/** The default deadline margin: 10 s (see `deadlineMarginMs`). */
const DEFAULT_DEADLINE_MARGIN_MS = 10_000;
/** The default margin is at most this fraction of the time an invocation has when it starts. */
const DEFAULT_DEADLINE_MARGIN_FRACTION = 0.2;

/** What the handler function may return. */
export type JobOutcome = JobResult | ContinueLater | void;

declare const NOT_GIVEN: unique symbol;
/** The default of jobHandler's `P`: no parameters type was written, so it comes from the schema. */
export interface NotGiven {
  readonly [NOT_GIVEN]: true;
}

/**
 * The type of `job.userParameters`: `P` when written (`jobHandler<Params>({ schema: jsonSchema }, ...)`), else the
 * output type of a Standard Schema given as `options.schema` (no generic to repeat), else `unknown`.
 */
export type ParametersOf<P, O> = [P] extends [NotGiven]
  ? O extends { readonly schema: infer Schema }
    ? Schema extends StandardSchemaV1
      ? StandardSchemaV1.InferOutput<Schema>
      : unknown
    : unknown
  : P;

/** A Lambda handler for CodePipeline job events. */
export type PipelineJobHandler = (event: unknown, context?: LambdaContextLike) => Promise<void>;

/**
 * Wraps `fn` into a Lambda handler for a CodePipeline Lambda invoke action.
 *
 * Each invocation parses the event, checks the UserParameters against `options.schema`, runs `fn`, and reports exactly
 * once: a returned result becomes PutJobSuccessResult, `job.continueLater(...)` a success with a continuation token, a
 * thrown error PutJobFailureResult (its type from `JobFailedError`, `ConfigurationError` for bad parameters, else
 * `JobFailed`). A report for a job that already ended (a duplicate delivery) is logged, not thrown. Reports are
 * retried (throttling, 5xx, network errors) within the invocation's remaining time; a success report CodePipeline
 * refuses becomes a failure report saying why. The handler throws only when it could not report (then Lambda retries,
 * and the crash reporter reports at last).
 *
 * With a Lambda context, a deadline watchdog runs: when the remaining time falls under `deadlineMarginMs` while `fn`
 * still runs, `job.signal` is aborted and the job is reported at once (a failure naming what it was doing, or with
 * `onDeadline: 'continue'` a continuation from the last `job.checkpoint`), and the handler returns without waiting
 * for `fn`, whose later result is ignored.
 */
export function jobHandler<P = NotGiven, S = unknown, O extends JobHandlerOptions = JobHandlerOptions>(
  options: O,
  fn: (job: PipelineJob<ParametersOf<P, O>, S>) => Promise<JobOutcome> | JobOutcome,
): PipelineJobHandler {
  return buildJobHandler<P, S, O>(options, fn, [readArtifacts, writeArtifacts, jsonSchema]);
}

/**
 * jobHandler with the given features only (what `cdk-codepipeline-invoke/runtime/core` offers): parse, run, report
 * and the deadline are always there; artifacts and the JSON Schema checker only when among `features`.
 */
export function buildJobHandler<P, S, O extends JobHandlerOptions>(
  options: O,
  fn: (job: PipelineJob<ParametersOf<P, O>, S>) => Promise<JobOutcome> | JobOutcome,
  features: readonly RuntimeFeature[],
): PipelineJobHandler {
  const jobFeatures = combineFeatures(features);
  const userParameters = userParametersReader(options.schema, jobFeatures.jsonSchema);
  const limits = resolveLimits(options.extractionLimits);
  const onDeadline = checkOnDeadline(options.onDeadline);
  const explicitMargin = checkMargin(options.deadlineMarginMs);
  return async (rawEvent, context) => {
    const started = Date.now();
    const baseLogger = options.logger ?? createJsonLogger();
    const client = options.codePipelineClient ?? defaultCodePipelineClient();
    const requestId = context?.awsRequestId;
    const remaining = remainingTimeOf(context);
    const atStart = remaining?.();
    const marginMs = atStart === undefined ? undefined : explicitMargin ?? defaultMargin(atStart);
    // Reports retry until half the margin is left (of at most the default fraction, should a margin be too long):
    // the rest is for ending the invocation (throw, log, clean up) before Lambda stops it.
    const reportDeadline: ReportDeadline | undefined =
      remaining === undefined || atStart === undefined || marginMs === undefined
        ? undefined
        : { remainingTimeMs: remaining, reserveMs: Math.min(marginMs, Math.max(0, atStart) * DEFAULT_DEADLINE_MARGIN_FRACTION) / 2 };

    let event: CodePipelineJobEvent;
    try {
      event = parseJobEvent(rawEvent);
    } catch (error) {
      await reportUnparsableEvent(error, rawEvent, client, baseLogger, requestId, reportDeadline);
      return;
    }
    const jobId = event['CodePipeline.job'].id;
    const { logger, release: releaseLogger } = correlatedLogger(baseLogger, jobId, requestId);

    let job: Job<ParametersOf<P, O>, S> | undefined;
    try {
      const result = await runJob();
      // Reported outside the try of the job: a failing report must not turn into a second, failure report; it is
      // thrown, so that Lambda retries (and the crash reporter reports at last).
      if (result.kind === 'success') {
        const reported = await putJobSuccess(client, result.input, logger, reportDeadline);
        logOutcome(logger, reported, result.continues ? 'Job will continue' : 'Job succeeded', started, {
          ...(result.input.outputVariables !== undefined ? { outputVariables: Object.keys(result.input.outputVariables) } : {}),
        });
      } else {
        const reported = await putJobFailure(client, jobId, result.failure, logger, reportDeadline);
        logOutcome(logger, reported, 'Job failure reported', started, { failureType: result.failure.type });
      }
    } finally {
      await job?.dispose();
      releaseLogger();
    }

    async function runJob(): Promise<Reportable> {
      try {
        const data = event['CodePipeline.job'].data;
        const raw = data.actionConfiguration.configuration.UserParameters;
        const rawUserParameters = raw === '' ? undefined : raw;
        const continuation = decodeContinuation(data.continuationToken);
        logger.info(continuation.kind === 'none' ? 'Job started' : 'Job continues', {
          inputArtifacts: data.inputArtifacts.map((a) => a.name),
          outputArtifacts: data.outputArtifacts.map((a) => a.name),
          encrypted: data.encryptionKey !== undefined,
        });
        job = new Job<ParametersOf<P, O>, S>({
          event,
          context,
          userParameters: (await userParameters(rawUserParameters)) as ParametersOf<P, O>,
          rawUserParameters,
          continuation: continuation.kind === 'state' ? (continuation.state as S) : undefined,
          logger,
          s3ClientFactory: options.s3Client ?? defaultS3ClientFactory,
          ownsS3Client: options.s3Client === undefined,
          limits,
          features: jobFeatures,
        });
        const ran = remaining === undefined || marginMs === undefined ? await runFn(job) : await runFnWithDeadline(job, remaining, marginMs);
        if (ran.kind === 'deadline') return ran.result;
        const outcome = ran.outcome;
        return { kind: 'success', input: successInput(jobId, outcome, requestId), continues: isContinueLater(outcome) };
      } catch (error) {
        const failure = failureOf(error, requestId);
        // A failureType also marks the errors of another copy of this library (two bundles), as in failureOf.
        if (error instanceof JobFailedError || error instanceof UserParametersError || (error instanceof Error && 'failureType' in error)) {
          // Thrown on purpose (or refused parameters): the job's outcome, not a bug in the function, so one line with
          // the message and no stack. Anything else is unexpected and keeps its stack.
          logger.warn(`Job failed: ${failure.message}`, { failureType: failure.type });
        } else {
          logger.error('Job failed', { failureType: failure.type, error });
        }
        return { kind: 'failure', failure };
      }
    }

    async function runFn(running: Job<ParametersOf<P, O>, S>): Promise<{ kind: 'returned'; outcome: JobOutcome }> {
      return { kind: 'returned', outcome: await fn(running) };
    }

    /**
     * Runs fn until it settles or the deadline comes, whichever is first. At the deadline the job is stopped
     * (`job.signal`) and its report is decided here; fn's later result is ignored (its rejection is handled by the race).
     */
    async function runFnWithDeadline(
      running: Job<ParametersOf<P, O>, S>,
      remainingTimeMs: () => number,
      margin: number,
    ): Promise<{ kind: 'returned'; outcome: JobOutcome } | { kind: 'deadline'; result: Reportable }> {
      if (explicitMargin !== undefined && remainingTimeMs() <= margin) {
        throw new JobFailedError(
          `deadlineMarginMs (${margin} ms) leaves the handler no time: the invocation had ${Math.max(0, Math.round(remainingTimeMs()))} ms ` +
            "left when it started. Lower deadlineMarginMs or raise the function's timeout.",
          'ConfigurationError',
        );
      }
      const fnStarted = Date.now();
      if (remainingTimeMs() <= margin) {
        // Already at the deadline (an invocation that started late): fn is not started at all.
        return { kind: 'deadline', result: deadlineResult(running, remainingTimeMs(), 0, margin) };
      }
      let stopWatching: () => void = () => undefined;
      const deadline = new Promise<{ kind: 'deadline' }>((resolve) => {
        stopWatching = watchDeadline(remainingTimeMs, margin, () => resolve({ kind: 'deadline' }));
      });
      try {
        const first = await Promise.race([Promise.resolve().then(() => runFn(running)), deadline]);
        if (first.kind === 'returned') return first;
      } finally {
        stopWatching();
      }
      return { kind: 'deadline', result: deadlineResult(running, remainingTimeMs(), Date.now() - fnStarted, margin) };
    }

    function deadlineResult(running: Job<ParametersOf<P, O>, S>, left: number, elapsedMs: number, margin: number): Reportable {
      const activity = running.currentActivity() ?? 'running the handler';
      const figures = `${seconds(elapsedMs)} of the invocation's ${seconds(elapsedMs + Math.max(0, left))} had passed`;
      const exceeded = `The job exceeded the function's timeout while ${activity}: ${figures}, and the runtime stopped waiting ${seconds(margin)} before Lambda would stop the function (deadlineMarginMs)`;
      running.abort(timeoutError(exceeded));
      const checkpoint = running.lastCheckpoint;
      const logAttributes = { activity, elapsedMs, remainingMs: Math.round(left), marginMs: margin, onDeadline };
      if (onDeadline === 'continue' && checkpoint !== undefined) {
        logger.warn('Deadline reached: the job continues from its last checkpoint in a new invocation', logAttributes);
        const summary = checkpoint.progress.summary ?? `Continuing from the last checkpoint: the invocation reached the function's timeout while ${activity}`;
        const continuation = continueLaterResult(checkpoint.token, { ...checkpoint.progress, summary });
        return { kind: 'success', input: successInput(jobId, continuation, requestId), continues: true };
      }
      const advice =
        onDeadline === 'continue'
          ? " onDeadline is 'continue', but the handler recorded no job.checkpoint(state) in this invocation, so the job cannot continue."
          : " Raise the function's timeout, or do the work in resumable steps with job.checkpoint(state) and onDeadline: 'continue'.";
      logger.error('Deadline reached: the job fails', logAttributes);
      return { kind: 'failure', failure: failureOf(new JobFailedError(`${exceeded}.${advice}`), requestId) };
    }
  };
}

type Reportable = { kind: 'success'; input: PutJobSuccessResultInput; continues: boolean } | { kind: 'failure'; failure: FailureReport };

/**
 * The invocation's remaining time from the Lambda context (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html:
 * getRemainingTimeInMillis() "returns the number of milliseconds left before the execution times out"), or undefined
 * without one. It never grows past what the first reading and the clock allow, so that a context whose clock stands
 * still (a hand-made one) still comes to an end.
 */
function remainingTimeOf(context: LambdaContextLike | undefined): (() => number) | undefined {
  if (typeof context?.getRemainingTimeInMillis !== 'function') return undefined;
  const read = () => {
    const value = context.getRemainingTimeInMillis!();
    return typeof value === 'number' && !Number.isNaN(value) ? value : Number.POSITIVE_INFINITY;
  };
  const end = Date.now() + read();
  return () => Math.min(read(), end - Date.now());
}

function defaultMargin(remainingAtStart: number): number {
  return Math.min(DEFAULT_DEADLINE_MARGIN_MS, Math.max(0, remainingAtStart) * DEFAULT_DEADLINE_MARGIN_FRACTION);
}

/**
 * Calls `onDeadline` once `remainingTimeMs()` is at most `marginMs`. The remaining time is read again when the timer
 * fires (timers may run late, never early, and a context's clock is its own), and the wait renewed if needed.
 * Returns a function that stops watching.
 */
function watchDeadline(remainingTimeMs: () => number, marginMs: number, onDeadline: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = () => {
    if (stopped) return;
    const wait = remainingTimeMs() - marginMs;
    if (wait <= 0) {
      onDeadline();
      return;
    }
    timer = setTimeout(check, Math.min(Math.ceil(wait), MAX_TIMER_MS));
  };
  check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The reason `job.signal` is aborted with: named like the one of `AbortSignal.timeout()`. */
function timeoutError(message: string): Error {
  const error = new Error(message);
  error.name = 'TimeoutError';
  return error;
}

function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function checkMargin(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`jobHandler: deadlineMarginMs must be a number of milliseconds >= 0, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

function checkOnDeadline(value: unknown): 'fail' | 'continue' {
  if (value === undefined) return 'fail';
  if (value !== 'fail' && value !== 'continue') {
    throw new RangeError(`jobHandler: onDeadline must be 'fail' or 'continue', got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

function logOutcome(logger: Logger, reported: ReportOutcome, message: string, started: number, extra: object): void {
  if (reported === 'reported') logger.info(message, { ms: Date.now() - started, ...extra });
  if (reported === 'success-refused') logger.error('Job failure reported: CodePipeline refused the success report', { ms: Date.now() - started, ...extra });
}

/**
 * An event that does not parse: if it still carries a job id, fail that job (else the pipeline waits for the action's
 * timeout); otherwise there is nobody to tell, and the invocation fails.
 */
async function reportUnparsableEvent(
  error: unknown,
  rawEvent: unknown,
  client: CodePipelineClient,
  baseLogger: Logger,
  requestId: string | undefined,
  deadline: ReportDeadline | undefined,
): Promise<void> {
  const jobId = findJobId(rawEvent);
  if (!(error instanceof InvalidJobEventError) || jobId === undefined) {
    baseLogger.error('Not a CodePipeline job event; nothing can be reported', { error });
    throw error;
  }
  const logger = withAttributes(baseLogger, { correlationId: jobId });
  logger.error('Invalid CodePipeline job event', { path: error.path, problem: error.problem });
  await putJobFailure(client, jobId, { ...failureOf(error, requestId), type: 'ConfigurationError' }, logger, deadline);
}
