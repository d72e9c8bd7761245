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
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AssemblySelectionError, findInvokeActions, handlerReferenceOf, selectInvokeAction } from './cloud-assembly';
import { CROSS_ENVIRONMENT_VARIABLES, setUpCrossEnvironment, type CrossEnvironment } from './cross-environment';
import { handler as crashReporter } from '../runtime/crash-reporter';
import type { FailureType } from '../shared/limits';
import { extractZip, zipDirectory } from './internal/zip';
import { JobApiEmulator, type JobReport, type LocalCredentials } from './job-api-emulator';
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
import { HandlerLoadError, loadHandler, type LambdaContextLike, type LambdaHandler } from './load-handler';
import { isPythonHandler, PythonHandler } from './python-handler';
import { LocalS3Server } from './s3-server';

/** A Lambda invoke action of a synthesized pipeline: runJob then runs what would deploy (see `RunJobOptions.app`). */
export interface AssemblyAction {
  /** The cloud assembly folder (`cdk.out`, or an App's `outdir`). */
  readonly assembly: string;
  readonly stage: string;
  /** Needed when the stage has several Lambda invoke actions. @default - the stage's only one */
  readonly action?: string;
  /** Needed when several pipelines have the stage (name or logical id). @default - the only one */
  readonly pipeline?: string;
}

export interface RunJobOptions {
  /**
   * The handler function, or `'path/to/file.js#exportName'` (`.ts` files compile on the fly with esbuild), or a
   * Python handler `'path/to/app.py#lambda_handler'` (run with python3 and boto3).
   *
   * @default - with `app`, the synthesized function's own asset and Handler; otherwise required
   */
  readonly handler?: LambdaHandler | string;
  /**
   * Run a synthesized action: the function's asset folder, Handler and runtime (Node.js or Python), timeout, memory
   * and literal environment, and the action's UserParameters, artifact names and encryption key come from the
   * template. Options given explicitly win. Deploy-time values stay placeholders such as `<Bucket.Ref>`; a
   * `variables` entry named like one (`'Bucket.Ref': 'my-bucket'`) fills it.
   *
   * @default - no assembly
   */
  readonly app?: AssemblyAction;
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
  /** The Python interpreter for `.py` handlers. @default 'python3' */
  readonly python?: string;
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
  const run = queue.then(() => runJobNow(options.app ? optionsFromAssembly(options, options.app) : options));
  queue = run.catch(() => undefined);
  return run;
}

type InvocationResult =
  /** `withoutPromise`: a Node.js handler that returned something other than a Promise (not an async handler). */
  | { readonly kind: 'returned'; readonly withoutPromise?: boolean }
  | { readonly kind: 'threw'; readonly error: unknown; readonly requestId: string; readonly trace?: readonly string[] }
  | { readonly kind: 'timedOut'; readonly requestId: string };

/** Runs one invocation of a handler, whatever its language. */
type Invoker = (event: JobEventJson, config: InvokeConfig) => Promise<InvocationResult>;

interface InvokeConfig {
  readonly functionName: string;
  readonly accountId: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
}

/** The servers and the function's credentials every run of this process shares (see the file comment). */
interface LocalServices {
  readonly emulator: JobApiEmulator;
  readonly s3: LocalS3Server;
  /** The function role's credentials: an SDK client made in an earlier run keeps them (the SDK caches them). */
  readonly functionCredentials: LocalCredentials;
}

let services: Promise<LocalServices> | undefined;

function localServices(): Promise<LocalServices> {
  services ??= startServices().catch((err: unknown) => {
    services = undefined;
    throw err;
  });
  return services;
}

async function startServices(): Promise<LocalServices> {
  const functionCredentials = randomCredentials('AKIA');
  // unref: the servers never keep a process (a jest worker, a script) alive once its own work is done.
  const emulator = await JobApiEmulator.start({ credentials: [functionCredentials], unref: true });
  try {
    const s3 = await LocalS3Server.start({ credentials: [], unref: true });
    // Bodies live under os.tmpdir(); an exiting process removes them (close() does when called).
    process.once('exit', () => fs.rmSync(s3.directory, { recursive: true, force: true }));
    return { emulator, s3, functionCredentials };
  } catch (err) {
    await emulator.close();
    throw err;
  }
}

/**
 * Stops the job-API emulator and the S3 server that runJob shares across runs. Optional: they never keep the process
 * alive; the next runJob starts new ones (on new ports: SDK clients made before then point at the old ones).
 */
export async function stopLocalServices(): Promise<void> {
  const running = services;
  services = undefined;
  if (!running) return;
  const { emulator, s3 } = await running;
  await Promise.allSettled([emulator.close(), s3.close()]);
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

/** A Node.js handler runs in this process; a `.py` one in python3 (checked before anything starts). */
async function resolveInvoker(options: RunJobOptions): Promise<Invoker> {
  if (options.handler === undefined) throw new HandlerLoadError('runJob needs a handler (a function or "file#export"), or app to run a synthesized one');
  if (typeof options.handler === 'string' && isPythonHandler(options.handler)) {
    const python = await PythonHandler.load(options.handler, { python: options.python });
    return (event, config) => invokePython(python, event, config);
  }
  const handler = typeof options.handler === 'string' ? await loadHandler(options.handler) : options.handler;
  return (event, config) => invoke(handler, event, config);
}

async function invokePython(python: PythonHandler, event: JobEventJson, config: InvokeConfig): Promise<InvocationResult> {
  const requestId = crypto.randomUUID();
  const result = await python.invoke(
    event,
    {
      functionName: config.functionName,
      invokedFunctionArn: `arn:aws:lambda:${DEFAULT_REGION}:${config.accountId}:function:${config.functionName}`,
      memoryLimitInMB: String(config.memoryMb),
      awsRequestId: requestId,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${config.functionName}`,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? logStreamName(),
      deadlineMs: Date.now() + config.timeoutMs,
    },
    config.timeoutMs,
  );
  if (result.kind === 'returned') return result;
  if (result.kind === 'timedOut') return { kind: 'timedOut', requestId };
  const error = new Error(result.errorMessage);
  error.name = result.errorType;
  return { kind: 'threw', error, requestId, trace: result.stackTrace };
}

/** The options a synthesized action implies, under the ones given explicitly. */
function optionsFromAssembly(options: RunJobOptions, app: AssemblyAction): RunJobOptions {
  const action = selectInvokeAction(findInvokeActions(app.assembly), app);
  const fn = action.function;
  if (options.handler === undefined && fn === undefined) {
    throw new AssemblySelectionError(
      `stage ${action.stageName}, action ${action.actionName} invokes ${action.functionName}, which this assembly does not define: pass handler too`,
    );
  }
  const handler = options.handler ?? handlerReferenceOf(fn!, fs.mkdtempSync(path.join(os.tmpdir(), 'cpi-inline-')));
  const unknownInputs = Object.keys(options.inputs ?? {}).filter((name) => !action.inputArtifacts.includes(name));
  if (unknownInputs.length > 0) {
    throw new AssemblySelectionError(
      `input ${unknownInputs.join(', ')} is not an input artifact of stage ${action.stageName}, action ${action.actionName} (its inputs: ${action.inputArtifacts.join(', ') || 'none'})`,
    );
  }
  // Deploy-time placeholders (`<Bucket.Ref>`) are filled by variables named like them, textually.
  let userParameters = options.userParameters ?? action.userParameters;
  const variables: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.variables ?? {})) {
    if (typeof userParameters === 'string' && action.placeholders.includes(`<${name}>`)) userParameters = userParameters.split(`<${name}>`).join(value);
    else variables[name] = value;
  }
  const known = (value: string | undefined) => (value === undefined || value.startsWith('<') ? undefined : value);
  return {
    ...options,
    handler,
    userParameters,
    variables,
    outputs: options.outputs ?? action.outputArtifacts,
    encryptionKey: options.encryptionKey ?? known(action.encryptionKey),
    functionName: options.functionName ?? known(action.functionName) ?? fn?.logicalId,
    pipelineName: options.pipelineName ?? known(action.pipelineName),
    timeoutMs: options.timeoutMs ?? (fn?.timeoutSeconds === undefined ? undefined : fn.timeoutSeconds * 1000),
    memoryMb: options.memoryMb ?? fn?.memorySize,
    environment: { ...fn?.environment, ...options.environment },
    app: undefined,
  };
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

/**
 * Node.js 24 Lambda runtimes run only async handlers: `(event, context, callback)` handlers and `context.succeed()`,
 * `context.fail()`, `context.done()` are gone (aws-lambda-nodejs-runtime-interface-client#137; aws-cdk v2.259.0
 * release notes). Such a handler fails its invocation with this error, which the crash reporter turns into the job's
 * failure, so the outcome says what to change.
 */
class CallbackStyleHandlerError extends Error {
  constructor(what: string) {
    super(
      `${what}: Node.js 24 Lambda runtimes don't support callback-style handlers (event, context, callback) nor ` +
        'context.succeed/fail/done. Make the handler async: `export const handler = async (event, context) => { ... }`, ' +
        'await the PutJobSuccessResult/PutJobFailureResult call, and return (or throw) instead of calling back.',
    );
    this.name = 'CallbackStyleHandlerError';
  }
}

/** One invocation with a Lambda-like context; a timeout stops waiting (the handler's promise is left to settle). */
async function invoke(handler: LambdaHandler, event: JobEventJson, config: InvokeConfig): Promise<InvocationResult> {
  const requestId = crypto.randomUUID();
  if (handler.length >= 3) {
    // Lambda's Node.js 24 runtime refuses such a handler before calling it; so does this one.
    return { kind: 'threw', error: new CallbackStyleHandlerError(`the handler declares ${handler.length} parameters (a callback)`), requestId };
  }
  const deadline = Date.now() + config.timeoutMs;
  // Calls of removed callback APIs are remembered, never thrown: a late call (from a timer or an SDK v2 callback,
  // after the invocation or the whole run ended) must not become an uncaught exception that ends the process.
  const misuse: string[] = [];
  let ended = false;
  const record = (name: string) => () => {
    if (!ended) misuse.push(name);
  };
  const context = lambdaContext(requestId, deadline, config, record);
  // Lambda hands the function a fresh copy of the event (JSON over the wire).
  const payload = JSON.parse(JSON.stringify(event)) as unknown;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<InvocationResult>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timedOut', requestId }), config.timeoutMs);
  });
  let returnedPromise = true;
  const run = (async (): Promise<InvocationResult> => {
    try {
      const value = (handler as (event: unknown, context: LambdaContextLike, callback: unknown) => unknown)(payload, context, record('callback'));
      returnedPromise = typeof (value as { then?: unknown } | undefined)?.then === 'function';
      await value;
      return { kind: 'returned' };
    } catch (error) {
      return { kind: 'threw', error, requestId };
    }
  })();
  try {
    const result = await Promise.race([run, timedOut]);
    if (misuse.length > 0) {
      return { kind: 'threw', error: new CallbackStyleHandlerError(`the handler called ${misuse.map((m) => (m === 'callback' ? 'its callback' : `context.${m}()`)).join(' and ')}`), requestId };
    }
    return result.kind === 'returned' && !returnedPromise ? { kind: 'returned', withoutPromise: true } : result;
  } finally {
    ended = true;
    clearTimeout(timer);
  }
}

function lambdaContext(
  requestId: string,
  deadline: number,
  config: { functionName: string; accountId: string; memoryMb: number },
  removedApi: (name: string) => () => void,
): LambdaContextLike {
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
    done: removedApi('done'),
    fail: removedApi('fail'),
    succeed: removedApi('succeed'),
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
  const requestId = result.requestId;
  const stack =
    result.kind !== 'threw' ? [] : result.trace ? [...result.trace] : result.error instanceof Error ? (result.error.stack ?? '').split('\n').slice(1).map((l) => l.trim()) : [];
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
  returnedWithoutPromise: boolean;
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
        : args.endedWithoutReport && args.returnedWithoutPromise
          ? 'The handler returned without a Promise and without reporting the job: Node.js 24 Lambda runtimes end the invocation when a ' +
            "non-async handler returns, and don't support callback-style handlers (event, context, callback) nor context.succeed/fail/done. " +
            'Make the handler async and await the PutJobSuccessResult/PutJobFailureResult call (or wrap it with jobHandler()).'
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
