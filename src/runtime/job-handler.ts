/**
 * jobHandler: turns a function of a job into a Lambda handler that always reports the job's outcome to CodePipeline.
 */
import type { CodePipelineClient, PutJobSuccessResultInput } from '@aws-sdk/client-codepipeline';
import { decodeContinuation } from './continuation';
import { createJsonLogger, Logger, withAttributes } from './logger';
import { Job, LambdaContextLike, PipelineJob } from './pipeline-job';
import { defaultCodePipelineClient, FailureReport, putJobFailure, putJobSuccess, ReportOutcome } from './report';
import { ContinueLater, failureOf, isContinueLater, JobResult, successInput } from './results';
import { defaultS3ClientFactory, S3ClientFactory } from './s3';
import { userParametersReader } from './user-parameters';
import { ExtractionLimits, resolveLimits } from './zip-safety';
import { InvalidJobEventError } from '../shared/errors';
import { CodePipelineJobEvent, findJobId, parseJobEvent } from '../shared/event';

export interface JobHandlerOptions {
  /**
   * The JSON Schema of the UserParameters: the same object literal given to `UserParametersSchema.fromJsonSchema` in
   * the stack. The parameters are parsed as JSON and checked before the handler body runs; a violation fails the job
   * as `ConfigurationError` naming the field.
   *
   * @default - no check; `job.userParameters` is the parsed JSON when the text is JSON, else the text
   */
  readonly schema?: object;
  /**
   * Where log lines go; Powertools for AWS Lambda's `Logger` fits. Every line gets the job id as `correlationId`.
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
}

/** What the handler function may return. */
export type JobOutcome = JobResult | ContinueLater | void;

/** A Lambda handler for CodePipeline job events. */
export type PipelineJobHandler = (event: unknown, context?: LambdaContextLike) => Promise<void>;

/**
 * Wraps `fn` into a Lambda handler for a CodePipeline Lambda invoke action.
 *
 * Each invocation parses the event, checks the UserParameters against `options.schema`, runs `fn`, and reports exactly
 * once: a returned result becomes PutJobSuccessResult, `job.continueLater(...)` a success with a continuation token, a
 * thrown error PutJobFailureResult (its type from `JobFailedError`, `ConfigurationError` for bad parameters, else
 * `JobFailed`). A report for a job that already ended (a duplicate delivery) is logged, not thrown. The handler
 * throws only when it could not report (then Lambda retries, and the crash reporter reports at last).
 */
export function jobHandler<P = unknown, S = unknown>(
  options: JobHandlerOptions,
  fn: (job: PipelineJob<P, S>) => Promise<JobOutcome> | JobOutcome,
): PipelineJobHandler {
  const userParameters = userParametersReader(options.schema);
  const limits = resolveLimits(options.extractionLimits);
  return async (rawEvent, context) => {
    const baseLogger = options.logger ?? createJsonLogger();
    const client = options.codePipelineClient ?? defaultCodePipelineClient();
    const requestId = context?.awsRequestId;

    let event: CodePipelineJobEvent;
    try {
      event = parseJobEvent(rawEvent);
    } catch (error) {
      await reportUnparsableEvent(error, rawEvent, client, baseLogger, requestId);
      return;
    }
    const jobId = event['CodePipeline.job'].id;
    const logger = withAttributes(baseLogger, { correlationId: jobId, ...(requestId !== undefined ? { awsRequestId: requestId } : {}) });
    const started = Date.now();

    let job: Job<P, S> | undefined;
    try {
      const result = await runJob();
      // Reported outside the try of the job: a failing report must not turn into a second, failure report; it is
      // thrown, so that Lambda retries (and the crash reporter reports at last).
      if (result.kind === 'success') {
        const reported = await putJobSuccess(client, result.input, logger);
        logOutcome(logger, reported, result.continues ? 'Job will continue' : 'Job succeeded', started, {
          ...(result.input.outputVariables !== undefined ? { outputVariables: Object.keys(result.input.outputVariables) } : {}),
        });
      } else {
        const reported = await putJobFailure(client, jobId, result.failure, logger);
        logOutcome(logger, reported, 'Job failure reported', started, { failureType: result.failure.type });
      }
    } finally {
      await job?.dispose();
    }

    async function runJob(): Promise<
      { kind: 'success'; input: PutJobSuccessResultInput; continues: boolean } | { kind: 'failure'; failure: FailureReport }
    > {
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
        job = new Job<P, S>({
          event,
          context,
          userParameters: userParameters(rawUserParameters) as P,
          rawUserParameters,
          continuation: continuation.kind === 'state' ? (continuation.state as S) : undefined,
          logger,
          s3ClientFactory: options.s3Client ?? defaultS3ClientFactory,
          ownsS3Client: options.s3Client === undefined,
          limits,
        });
        const outcome = await fn(job);
        return { kind: 'success', input: successInput(jobId, outcome, requestId), continues: isContinueLater(outcome) };
      } catch (error) {
        const failure = failureOf(error, requestId);
        logger.error('Job failed', { failureType: failure.type, error });
        return { kind: 'failure', failure };
      }
    }
  };
}

function logOutcome(logger: Logger, reported: ReportOutcome, message: string, started: number, extra: object): void {
  if (reported === 'reported') logger.info(message, { ms: Date.now() - started, ...extra });
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
): Promise<void> {
  const jobId = findJobId(rawEvent);
  if (!(error instanceof InvalidJobEventError) || jobId === undefined) {
    baseLogger.error('Not a CodePipeline job event; nothing can be reported', { error });
    throw error;
  }
  const logger = withAttributes(baseLogger, { correlationId: jobId });
  logger.error('Invalid CodePipeline job event', { path: error.path, problem: error.problem });
  await putJobFailure(client, jobId, { ...failureOf(error, requestId), type: 'ConfigurationError' }, logger);
}
