/**
 * jobHandler: turns a function of a job into a Lambda handler that always reports the job's outcome to CodePipeline.
 */
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { decodeContinuation } from './continuation';
import { deadlineOptions, invocationDeadline, runWithinDeadline } from './deadline';
import { combineFeatures, jsonSchema, readArtifacts, RuntimeFeature, writeArtifacts } from './features';
import { correlatedLogger, createJsonLogger, Logger, withAttributes } from './logger';
import { Job, LambdaContextLike, PipelineJob } from './pipeline-job';
import { defaultCodePipelineClient, putJobFailure, putJobSuccess, ReportDeadline, ReportOutcome } from './report';
import { ContinueLater, failureOf, isContinueLater, JobResult, Reportable, successInput } from './results';
import { defaultS3ClientFactory, S3ClientFactory } from './s3/client';
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
  const deadlineSettings = deadlineOptions(options);
  return async (rawEvent, context) => {
    const started = Date.now();
    const baseLogger = options.logger ?? createJsonLogger();
    const client = options.codePipelineClient ?? defaultCodePipelineClient();
    const requestId = context?.awsRequestId;
    const deadline = invocationDeadline(context, deadlineSettings);

    let event: CodePipelineJobEvent;
    try {
      event = parseJobEvent(rawEvent);
    } catch (error) {
      await reportUnparsableEvent(error, rawEvent, client, baseLogger, requestId, deadline?.report);
      return;
    }
    const jobId = event['CodePipeline.job'].id;
    const { logger, release: releaseLogger } = correlatedLogger(baseLogger, jobId, requestId);

    let job: Job<ParametersOf<P, O>, S> | undefined;
    try {
      const result = await outcomeOf(async () => {
        job = await buildJob(event);
        const running = job;
        const ran = await runWithinDeadline(running, () => fn(running), deadline, { jobId, requestId, logger });
        return ran.kind === 'deadline' ? ran.result : successResult(jobId, ran.outcome, requestId);
      });
      // Reported outside the try of the job: a failing report must not turn into a second, failure report; it is
      // thrown, so that Lambda retries (and the crash reporter reports at last).
      await report(client, jobId, result, logger, deadline?.report, started);
    } finally {
      await job?.dispose();
      releaseLogger();
    }

    /** The job fn works on: the parameters read and checked, the continuation decoded. */
    async function buildJob(parsed: CodePipelineJobEvent): Promise<Job<ParametersOf<P, O>, S>> {
      const data = parsed['CodePipeline.job'].data;
      const raw = data.actionConfiguration.configuration.UserParameters;
      const rawUserParameters = raw === '' ? undefined : raw;
      const continuation = decodeContinuation(data.continuationToken);
      logger.info(continuation.kind === 'none' ? 'Job started' : 'Job continues', {
        inputArtifacts: data.inputArtifacts.map((a) => a.name),
        outputArtifacts: data.outputArtifacts.map((a) => a.name),
        encrypted: data.encryptionKey !== undefined,
      });
      return new Job<ParametersOf<P, O>, S>({
        event: parsed,
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
    }

    /** What `run` comes to, a thrown error becoming the failure to report. */
    async function outcomeOf(run: () => Promise<Reportable>): Promise<Reportable> {
      try {
        return await run();
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
  };
}

function successResult(jobId: string, outcome: JobOutcome, requestId: string | undefined): Reportable {
  return { kind: 'success', input: successInput(jobId, outcome, requestId), continues: isContinueLater(outcome) };
}

/** Reports the job's result and logs how it went. */
async function report(
  client: CodePipelineClient,
  jobId: string,
  result: Reportable,
  logger: Logger,
  deadline: ReportDeadline | undefined,
  started: number,
): Promise<void> {
  if (result.kind === 'success') {
    const reported = await putJobSuccess(client, result.input, logger, deadline);
    logOutcome(logger, reported, result.continues ? 'Job will continue' : 'Job succeeded', started, {
      ...(result.input.outputVariables !== undefined ? { outputVariables: Object.keys(result.input.outputVariables) } : {}),
    });
  } else {
    const reported = await putJobFailure(client, jobId, result.failure, logger, deadline);
    logOutcome(logger, reported, 'Job failure reported', started, { failureType: result.failure.type });
  }
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
