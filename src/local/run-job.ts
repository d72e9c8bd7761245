/**
 * `runJob(options)`: runs a Lambda handler through a whole CodePipeline job on this machine.
 *
 * It uses a job-API emulator and an embedded S3 server on 127.0.0.1, started by the first run and kept for the whole
 * process: a handler that creates its SDK client at module scope (as AWS recommends) keeps reaching the same endpoints
 * and credentials in every later run. Runs are kept apart by job id and by an artifact bucket of their own, removed
 * when the run ends. It uploads the inputs as zip artifacts, builds the event with credentials that only the local S3
 * accepts (for that run only), and invokes the handler with a Lambda-like context: in this process for a Node.js
 * handler, in a `python3` process for a Python one (`app.py#lambda_handler`, see python-handler.ts). The handler code is exactly what runs on Lambda: it reaches the local services through configuration the
 * AWS SDK v3 honours (AWS_ENDPOINT_URL_CODEPIPELINE, AWS_ENDPOINT_URL_S3, AWS_REGION and environment credentials),
 * set for the run and restored afterwards. Like Lambda with the crash-reporter destination, a handler that throws or
 * runs past `timeoutMs` has its failure record handed to the crash reporter (the code the construct deploys).
 */
import * as crypto from 'crypto';
import { setUpCrossEnvironment, type CrossEnvironment } from './cross-environment';
import {
  artifactObjectKey,
  buildJobEvent,
  renderUserParameters,
  substituteVariables,
  userParametersText,
  DEFAULT_ACCOUNT_ID,
  DEFAULT_REGION,
  defaultArtifactBucket,
  type EventCredentials,
} from './job-event';
import { handler as crashReporter } from '../runtime/crash-reporter';
import { uploadInputs } from './runner/artifacts';
import { optionsFromAssembly } from './runner/assembly-options';
import { setEnvironment } from './runner/environment';
import { failureRecord, lambdaError } from './runner/failure-record';
import { logStreamName, resolveInvoker } from './runner/invoke';
import { outcome } from './runner/outcome';
import { localServices, randomCredentials } from './runner/services';
import type { RunJobOptions, RunJobOutcome } from './runner/types';

export { stopLocalServices } from './runner/services';
export type { AssemblyAction, RunJobFailure, RunJobOptions, RunJobOutcome } from './runner/types';

const DEFAULT_MAX_INVOCATIONS = 10;
const DEFAULT_TIMEOUT_MS = 5 * 60 * 1000;
const DEFAULT_MEMORY_MB = 512;
const DEFAULT_FUNCTION = 'local-pipeline-job-function';
const LOCAL_PIPELINE = 'local-pipeline';

/** runJob changes process.env, so runs in one process take turns. */
let queue: Promise<unknown> = Promise.resolve();

/** Runs a handler through a whole local CodePipeline job and returns how the job ended. */
export function runJob(options: RunJobOptions): Promise<RunJobOutcome> {
  const run = queue.then(() => runJobNow(options.app ? optionsFromAssembly(options, options.app) : options));
  queue = run.catch(() => undefined);
  return run;
}

let runCounter = 0;

async function runJobNow(options: RunJobOptions): Promise<RunJobOutcome> {
  const maxInvocations = options.maxInvocations ?? DEFAULT_MAX_INVOCATIONS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(maxInvocations) || maxInvocations < 1) throw new RangeError(`maxInvocations must be a positive integer, got ${maxInvocations}`);
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const functionName = options.functionName ?? DEFAULT_FUNCTION;
  const pipelineName = options.pipelineName ?? LOCAL_PIPELINE;
  // CodePipeline's own artifact bucket name, made unique per run so that runs sharing the S3 server stay apart.
  const bucket = `${defaultArtifactBucket(accountId, DEFAULT_REGION)}-run${++runCounter}`.slice(0, 63);
  const jobId = options.jobId ?? crypto.randomUUID();
  const variables = { 'codepipeline.PipelineExecutionId': crypto.randomUUID(), ...options.variables };
  // Checked before anything starts: over-long UserParameters throw here, with what to do.
  const userParameters = userParametersText(options.userParameters);
  renderUserParameters(userParameters, variables);
  const unresolved = userParameters === undefined ? [] : substituteVariables(userParameters, variables).unresolved;
  // The function's own role (reports to CodePipeline) and the action role's artifact credentials (S3) differ, as on
  // AWS: each local service accepts only the one it should, so a handler that mixes them up fails here too. Artifact
  // credentials are the run's own, as each job's are on AWS.
  const shared = await localServices();
  const { emulator, s3 } = shared;
  const artifactCredentials: EventCredentials = { ...randomCredentials('ASIA'), expirationTime: Date.now() + 60 * 60 * 1000 };
  // A function in another account has its own credentials for this run: the shared emulator knows them as a principal
  // of that account, while the process-wide function credentials stay those of the pipeline's account.
  const crossAccount = options.functionAccountId !== undefined && options.functionAccountId !== accountId;
  const functionCredentials = crossAccount ? randomCredentials('AKIA') : shared.functionCredentials;
  let crossEnvironment: CrossEnvironment | undefined;
  let restore: () => void = () => undefined;
  try {
    s3.addCredentials(artifactCredentials);
    s3.createBucket(bucket);
    const sse = options.encryptionKey === undefined ? undefined : { serverSideEncryption: 'aws:kms', sseKmsKeyId: options.encryptionKey };
    const inputArtifacts = await uploadInputs(s3, bucket, pipelineName, options.inputs ?? {}, sse);
    const outputArtifacts = (options.outputs ?? []).map((name) => ({ name, bucketName: bucket, objectKey: artifactObjectKey(pipelineName, name) }));
    crossEnvironment = await setUpCrossEnvironment({
      emulator,
      jobId,
      accountId,
      region: DEFAULT_REGION,
      functionAccountId: options.functionAccountId,
      functionRegion: options.functionRegion,
      functionName,
      functionCredentials,
    });
    const functionAccountId = crossEnvironment.functionAccountId;

    restore = setEnvironment({
      ...options.environment,
      AWS_ENDPOINT_URL_CODEPIPELINE: emulator.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: DEFAULT_REGION,
      AWS_DEFAULT_REGION: DEFAULT_REGION,
      AWS_ACCESS_KEY_ID: functionCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: functionCredentials.secretAccessKey,
      AWS_SESSION_TOKEN: functionCredentials.sessionToken,
      AWS_PROFILE: undefined,
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: undefined,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb ?? DEFAULT_MEMORY_MB),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(),
      ...crossEnvironment.environment,
    });
    // Loaded with the function's environment, as Lambda's init does: module-scope code (an SDK client) sees it.
    const invoker = await resolveInvoker(options);

    let invocations = 0;
    let crash: RunJobOutcome['crash'];
    let endedWithoutReport = false;
    let returnedWithoutPromise = false;
    let crashReporterError: string | undefined;
    while (invocations < maxInvocations) {
      const job = emulator.job(jobId)!;
      if (job.status !== 'InProgress') break;
      invocations++;
      const event = buildJobEvent({
        jobId,
        accountId,
        functionName,
        pipelineName,
        userParameters,
        variables,
        inputArtifacts,
        outputArtifacts,
        bucketName: bucket,
        credentials: artifactCredentials,
        encryptionKey: options.encryptionKey,
        continuationToken: job.continuationToken,
      });
      options.onInvoke?.(event, invocations);
      const reportsBefore = job.results.length;
      const result = await invoker(event, { functionName, accountId: functionAccountId, timeoutMs, memoryMb: options.memoryMb ?? DEFAULT_MEMORY_MB });
      if (result.kind !== 'returned') {
        crash = { ...lambdaError(result, timeoutMs), invocation: invocations };
        try {
          await crashReporter(failureRecord(event, functionName, functionAccountId, result, crash));
        } catch (error) {
          // On AWS the destination's own async retries would follow; locally the run ends with what went wrong.
          crashReporterError = error instanceof Error ? error.message : String(error);
          break;
        }
      }
      const after = emulator.job(jobId)!;
      if (after.status === 'InProgress' && after.results.length === reportsBefore) {
        endedWithoutReport = true;
        returnedWithoutPromise = result.kind === 'returned' && result.withoutPromise === true;
        break;
      }
    }
    const result = await outcome({
      emulator,
      s3,
      jobId,
      invocations,
      crash,
      crashReporterError,
      endedWithoutReport,
      returnedWithoutPromise,
      maxInvocations,
      outputArtifacts,
      options,
    });
    const unresolvedWarnings = unresolved.map(
      (reference) => `UserParameters reference ${reference}, which has no value here (pass it in variables / --variable): the handler saw it literally`,
    );
    return { ...result, warnings: [...unresolvedWarnings, ...result.warnings] };
  } finally {
    restore();
    s3.removeCredentials(artifactCredentials.accessKeyId);
    emulator.forgetJob(jobId);
    await Promise.allSettled([s3.removeBucket(bucket), crossEnvironment?.close()]);
  }
}
