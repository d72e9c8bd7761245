/**
 * `runJob(options)`: runs a Lambda handler through a whole CodePipeline job on this machine.
 *
 * It starts the job-API emulator and the embedded S3 server on 127.0.0.1, uploads the inputs as zip artifacts,
 * builds the event with credentials that only the local S3 accepts, and invokes the handler with a Lambda-like
 * context. The handler code is exactly what runs on Lambda: it reaches the local services through configuration the
 * AWS SDK v3 honours (AWS_ENDPOINT_URL_CODEPIPELINE, AWS_ENDPOINT_URL_S3, AWS_REGION and environment credentials),
 * set for the run and restored afterwards. Like Lambda with the crash-reporter destination, a handler that throws or
 * runs past `timeoutMs` has its failure record handed to the crash reporter (the code the construct deploys).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CROSS_ENVIRONMENT_VARIABLES, setUpCrossEnvironment, type CrossEnvironment } from './cross-environment';
import { handler as crashReporter } from '../runtime/crash-reporter';
import type { FailureType } from '../shared/limits';
import { extractZip, zipDirectory } from './internal/zip';
import { JobApiEmulator, type JobReport } from './job-api-emulator';
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
  type JobEventJson,
} from './job-event';
import { loadHandler, type LambdaContextLike, type LambdaHandler } from './load-handler';
import { LocalS3Server } from './s3-server';

export interface RunJobOptions {
  /** The handler function, or `'path/to/file.js#exportName'` (`.ts` files compile on the fly with esbuild). */
  readonly handler: LambdaHandler | string;
  /** The action's UserParameters: a string as is, anything else as JSON. @default - none */
  readonly userParameters?: unknown;
  /** Input artifacts: name -> a folder (zipped) or a `.zip` file (uploaded as is). @default - none */
  readonly inputs?: Readonly<Record<string, string>>;
  /** Output artifact names; after a success each is extracted to a folder (see `outputs` of the outcome). @default - none */
  readonly outputs?: readonly string[];
  /** A KMS key ARN: the event then carries `encryptionKey`, and artifacts are stored with SSE-KMS. @default - none */
  readonly encryptionKey?: string;
  /** How many invocations a job may take when the handler continues it (continuation tokens). @default 10 */
  readonly maxInvocations?: number;
  /**
   * Like the function's timeout: the context's `getRemainingTimeInMillis()` counts down from it (so jobHandler's
   * deadline watchdog reports a handler still running shortly before it), and an invocation running longer counts as
   * timed out. @default 300000 (PipelineJobFunction's 5 minutes)
   */
  readonly timeoutMs?: number;
  /** @default 'local-pipeline-job-function' */
  readonly functionName?: string;
  /** @default - a random UUID */
  readonly jobId?: string;
  /** The pipeline's account: the job belongs to it. @default '123456789012' */
  readonly accountId?: string;
  /**
   * The function's account, when it is another than the pipeline's: the job's results are then accepted only with
   * credentials of the job-result role of the pipeline's account, which a local STS issues to the function's role
   * (`AWS_ENDPOINT_URL_STS`); the function's environment names the role as the constructs write it. `jobHandler`
   * assumes it; a handler that reports with its own credentials is refused with AccessDeniedException, as on AWS.
   * @default - the pipeline's account (`accountId`)
   */
  readonly functionAccountId?: string;
  /**
   * The function's region, when it is another than the pipeline's (us-east-1 here): the function runs with this
   * AWS_REGION, its environment names the pipeline's region, and reports signed for another region do not find the job.
   * @default - the pipeline's region
   */
  readonly functionRegion?: string;
  /** @default 'local-pipeline' */
  readonly pipelineName?: string;
  /** Reported by the context (`memoryLimitInMB`) and AWS_LAMBDA_FUNCTION_MEMORY_SIZE. @default 512 */
  readonly memoryMb?: number;
  /** Where output artifacts are extracted (one sub-folder per artifact). @default - a new folder under os.tmpdir() */
  readonly outputDirectory?: string;
  /**
   * Values of pipeline variables referenced in UserParameters (`#{Namespace.Variable}`), keyed `Namespace.Variable`;
   * substituted textually as CodePipeline does. `codepipeline.PipelineExecutionId` gets a random UUID unless given.
   * @default - none besides codepipeline.PipelineExecutionId
   */
  readonly variables?: Readonly<Record<string, string>>;
  /** Extra environment variables for the handler (restored afterwards). @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Called with each event before the handler gets it (credentials included: it is what Lambda would pass). */
  readonly onInvoke?: (event: JobEventJson, invocation: number) => void;
}

export interface RunJobFailure {
  readonly type: FailureType;
  readonly message: string;
}

export interface RunJobOutcome {
  readonly status: 'Succeeded' | 'Failed';
  /** Present when the job failed: what the handler (or the crash reporter) reported. */
  readonly failure?: RunJobFailure;
  readonly outputVariables?: Readonly<Record<string, string>>;
  /** `executionDetails.summary` of the final report. */
  readonly summary?: string;
  /** How many times the handler was invoked. */
  readonly invocations: number;
  /** Output artifact name -> the folder it was extracted to (artifacts the handler did not upload are missing). */
  readonly outputs: Readonly<Record<string, string>>;
  readonly jobId: string;
  /** Every result the job received, oldest first. */
  readonly reports: readonly JobReport[];
  /** Set when an invocation crashed or timed out (its failure went to the crash reporter). */
  readonly crash?: { readonly errorType: string; readonly errorMessage: string; readonly invocation: number };
  /** Things that would break the pipeline later, e.g. an output artifact that was never uploaded. */
  readonly warnings: readonly string[];
}

const DEFAULT_MAX_INVOCATIONS = 10;
const DEFAULT_TIMEOUT_MS = 5 * 60 * 1000;
const DEFAULT_MEMORY_MB = 512;
const DEFAULT_FUNCTION = 'local-pipeline-job-function';
const LOCAL_PIPELINE = 'local-pipeline';

/** The environment a run sets; each is restored (or removed) afterwards. */
const MANAGED_ENV = [
  'AWS_ENDPOINT_URL_CODEPIPELINE',
  'AWS_ENDPOINT_URL_S3',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  ...CROSS_ENVIRONMENT_VARIABLES,
] as const;

/** runJob changes process.env, so runs in one process take turns. */
let queue: Promise<unknown> = Promise.resolve();

/** Runs a handler through a whole local CodePipeline job and returns how the job ended. */
export function runJob(options: RunJobOptions): Promise<RunJobOutcome> {
  const run = queue.then(() => runJobNow(options));
  queue = run.catch(() => undefined);
  return run;
}

type InvocationResult =
  | { readonly kind: 'returned' }
  | { readonly kind: 'threw'; readonly error: unknown }
  | { readonly kind: 'timedOut'; readonly requestId: string };

async function runJobNow(options: RunJobOptions): Promise<RunJobOutcome> {
  const maxInvocations = options.maxInvocations ?? DEFAULT_MAX_INVOCATIONS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(maxInvocations) || maxInvocations < 1) throw new RangeError(`maxInvocations must be a positive integer, got ${maxInvocations}`);
  if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`);
  const handler = typeof options.handler === 'string' ? await loadHandler(options.handler) : options.handler;

  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const functionName = options.functionName ?? DEFAULT_FUNCTION;
  const pipelineName = options.pipelineName ?? LOCAL_PIPELINE;
  const bucket = defaultArtifactBucket(accountId, DEFAULT_REGION);
  const jobId = options.jobId ?? crypto.randomUUID();
  const variables = { 'codepipeline.PipelineExecutionId': crypto.randomUUID(), ...options.variables };
  // Checked before anything starts: over-long UserParameters throw here, with what to do.
  const userParameters = userParametersText(options.userParameters);
  renderUserParameters(userParameters, variables);
  const unresolved = userParameters === undefined ? [] : substituteVariables(userParameters, variables).unresolved;
  // The function's own role (reports to CodePipeline) and the action role's artifact credentials (S3) differ, as on
  // AWS: each local service accepts only the one it should, so a handler that mixes them up fails here too.
  const functionCredentials = randomCredentials('AKIA');
  const artifactCredentials: EventCredentials = { ...randomCredentials('ASIA'), expirationTime: Date.now() + 60 * 60 * 1000 };

  const emulator = await JobApiEmulator.start({ credentials: [functionCredentials] });
  let s3: LocalS3Server | undefined;
  let crossEnvironment: CrossEnvironment | undefined;
  let restore: () => void = () => undefined;
  try {
    s3 = await LocalS3Server.start({ credentials: [artifactCredentials] });
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

    let invocations = 0;
    let crash: RunJobOutcome['crash'];
    let endedWithoutReport = false;
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
      const memoryMb = options.memoryMb ?? DEFAULT_MEMORY_MB;
      const result = await invoke(handler, event, { functionName, accountId: functionAccountId, timeoutMs, memoryMb });
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
    await Promise.allSettled([emulator.close(), s3?.close(), crossEnvironment?.close()]);
  }
}

function randomCredentials(prefix: string): { accessKeyId: string; secretAccessKey: string; sessionToken: string } {
  return {
    accessKeyId: `${prefix}${crypto.randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: crypto.randomBytes(30).toString('base64'),
    sessionToken: crypto.randomBytes(48).toString('base64'),
  };
}

/** Sets (or, for `undefined`, removes) environment variables; returns a function that puts everything back. */
function setEnvironment(values: Record<string, string | undefined>): () => void {
  const keys = new Set<string>([...MANAGED_ENV, ...Object.keys(values)]);
  const saved = new Map<string, string | undefined>([...keys].map((k) => [k, process.env[k]]));
  for (const key of keys) {
    const value = values[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

async function uploadInputs(
  s3: LocalS3Server,
  bucket: string,
  pipelineName: string,
  inputs: Readonly<Record<string, string>>,
  sse: { serverSideEncryption: string; sseKmsKeyId: string } | undefined,
): Promise<Array<{ name: string; bucketName: string; objectKey: string }>> {
  const artifacts = [];
  for (const [name, source] of Object.entries(inputs)) {
    const stat = await fs.promises.stat(source).catch(() => undefined);
    if (!stat) throw new Error(`input artifact ${name}: ${source} does not exist (give a folder to zip or a .zip file)`);
    const objectKey = artifactObjectKey(pipelineName, name);
    if (stat.isDirectory()) {
      const zipFile = path.join(s3.directory, `input-${crypto.randomUUID()}.zip`);
      await zipDirectory(source, zipFile);
      await s3.putFile(bucket, objectKey, zipFile, { sse });
      await fs.promises.rm(zipFile, { force: true });
    } else if (stat.isFile()) {
      await s3.putFile(bucket, objectKey, source, { sse });
    } else {
      throw new Error(`input artifact ${name}: ${source} is neither a folder nor a file`);
    }
    artifacts.push({ name, bucketName: bucket, objectKey });
  }
  return artifacts;
}

function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[$LATEST]${crypto.randomBytes(16).toString('hex')}`;
}

/** One invocation with a Lambda-like context; a timeout stops waiting (the handler's promise is left to settle). */
async function invoke(
  handler: LambdaHandler,
  event: JobEventJson,
  config: { functionName: string; accountId: string; timeoutMs: number; memoryMb: number },
): Promise<InvocationResult> {
  const requestId = crypto.randomUUID();
  const deadline = Date.now() + config.timeoutMs;
  const context = lambdaContext(requestId, deadline, config);
  // Lambda hands the function a fresh copy of the event (JSON over the wire).
  const payload = JSON.parse(JSON.stringify(event)) as unknown;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<InvocationResult>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timedOut', requestId }), config.timeoutMs);
  });
  const run = (async (): Promise<InvocationResult> => {
    try {
      await handler(payload, context);
      return { kind: 'returned' };
    } catch (error) {
      return { kind: 'threw', error };
    }
  })();
  try {
    return await Promise.race([run, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function lambdaContext(
  requestId: string,
  deadline: number,
  config: { functionName: string; accountId: string; memoryMb: number },
): LambdaContextLike {
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported on Node.js 24 Lambda runtimes: return (or throw) from an async handler`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: config.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${DEFAULT_REGION}:${config.accountId}:function:${config.functionName}`,
    memoryLimitInMB: String(config.memoryMb),
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${config.functionName}`,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? logStreamName(),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}

/** What Lambda puts in `responsePayload` for an unhandled error or a timeout. */
function lambdaError(result: Exclude<InvocationResult, { kind: 'returned' }>, timeoutMs: number): { errorType: string; errorMessage: string } {
  if (result.kind === 'timedOut') {
    return {
      errorType: 'Sandbox.Timedout',
      errorMessage: `${new Date().toISOString()} ${result.requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
    };
  }
  const error = result.error;
  if (error instanceof Error) return { errorType: error.name || 'Error', errorMessage: error.message };
  return { errorType: 'Error', errorMessage: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error) };
}

/** Lambda's async-invocation failure record, as the onFailure destination (the crash reporter) receives it. */
function failureRecord(
  event: JobEventJson,
  functionName: string,
  accountId: string,
  result: Exclude<InvocationResult, { kind: 'returned' }>,
  error: { errorType: string; errorMessage: string },
): unknown {
  const requestId = result.kind === 'timedOut' ? result.requestId : crypto.randomUUID();
  const stack = result.kind === 'threw' && result.error instanceof Error ? (result.error.stack ?? '').split('\n').slice(1).map((l) => l.trim()) : [];
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId,
      functionArn: `arn:aws:lambda:${DEFAULT_REGION}:${accountId}:function:${functionName}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 1,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: error.errorType, errorMessage: error.errorMessage, trace: stack },
  };
}

async function outcome(args: {
  emulator: JobApiEmulator;
  s3: LocalS3Server;
  jobId: string;
  invocations: number;
  crash: RunJobOutcome['crash'];
  crashReporterError: string | undefined;
  endedWithoutReport: boolean;
  maxInvocations: number;
  outputArtifacts: Array<{ name: string; bucketName: string; objectKey: string }>;
  options: RunJobOptions;
}): Promise<RunJobOutcome> {
  const job = args.emulator.job(args.jobId)!;
  const last = job.results[job.results.length - 1];
  const base = { invocations: args.invocations, jobId: args.jobId, reports: job.results, crash: args.crash };
  if (job.status === 'Failed') {
    const failure = last.failureDetails!;
    return { ...base, status: 'Failed', failure: { type: failure.type as FailureType, message: failure.message }, outputs: {}, warnings: [] };
  }
  if (job.status === 'InProgress') {
    const message =
      args.crashReporterError !== undefined
        ? `The handler crashed (${args.crash?.errorType}: ${args.crash?.errorMessage}) and the crash reporter could not report the job: ${args.crashReporterError}`
        : args.endedWithoutReport
          ? 'The handler returned without reporting the job (no PutJobSuccessResult or PutJobFailureResult): on AWS the action would wait until it times out. ' +
            'Wrap the handler with jobHandler() or report the result.'
          : `The job was still in progress after ${args.invocations} invocations (maxInvocations ${args.maxInvocations}): ` +
            'the handler keeps returning continuation tokens.';
    return { ...base, status: 'Failed', failure: { type: 'JobFailed', message }, outputs: {}, warnings: [] };
  }
  const { outputs, warnings } = await extractOutputs(args.s3, args.outputArtifacts, args.options.outputDirectory, args.options.encryptionKey);
  return {
    ...base,
    status: 'Succeeded',
    outputVariables: last.outputVariables,
    summary: last.executionDetails?.summary,
    outputs,
    warnings,
  };
}

async function extractOutputs(
  s3: LocalS3Server,
  artifacts: Array<{ name: string; bucketName: string; objectKey: string }>,
  outputDirectory: string | undefined,
  encryptionKey: string | undefined,
): Promise<{ outputs: Record<string, string>; warnings: string[] }> {
  const outputs: Record<string, string> = {};
  const warnings: string[] = [];
  if (artifacts.length === 0) return { outputs, warnings };
  const root = outputDirectory ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'cdk-codepipeline-invoke-outputs-')));
  for (const artifact of artifacts) {
    const stored = s3.object(artifact.bucketName, artifact.objectKey);
    if (!stored) {
      warnings.push(`output artifact ${artifact.name} was not uploaded: the next action that reads it would fail`);
      continue;
    }
    if (encryptionKey !== undefined && (stored.serverSideEncryption !== 'aws:kms' || stored.sseKmsKeyId !== encryptionKey)) {
      warnings.push(
        `output artifact ${artifact.name} was stored with ${stored.serverSideEncryption}${stored.sseKmsKeyId ? ` (key ${stored.sseKmsKeyId})` : ''}, ` +
          `not SSE-KMS with the event's encryptionKey ${encryptionKey}: artifact buckets that require KMS refuse such uploads`,
      );
    }
    const folder = path.join(root, artifact.name);
    try {
      await extractZip(stored.file, folder, artifact.name);
      outputs[artifact.name] = folder;
    } catch (err) {
      warnings.push(`output artifact ${artifact.name} is not a readable zip (${(err as Error).message}): CodePipeline actions expect zip artifacts`);
    }
  }
  return { outputs, warnings };
}
