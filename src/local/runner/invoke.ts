/**
 * One invocation of a handler, as Lambda makes it: a Node.js handler in this process with a Lambda-like context, a
 * Python one in python3 (python-handler.ts). What the invocation ended with is what Lambda would see.
 */
import * as crypto from 'crypto';
import type { RunJobOptions } from './types';
import { DEFAULT_REGION, type JobEventJson } from '../job-event';
import { HandlerLoadError, loadHandler, type LambdaContextLike, type LambdaHandler } from '../load-handler';
import { isPythonHandler, PythonHandler } from '../python-handler';

export type InvocationResult =
  /** `withoutPromise`: a Node.js handler that returned something other than a Promise (not an async handler). */
  | { readonly kind: 'returned'; readonly withoutPromise?: boolean }
  | { readonly kind: 'threw'; readonly error: unknown; readonly requestId: string; readonly trace?: readonly string[] }
  | { readonly kind: 'timedOut'; readonly requestId: string };

/** Runs one invocation of a handler, whatever its language. */
export type Invoker = (event: JobEventJson, config: InvokeConfig) => Promise<InvocationResult>;

export interface InvokeConfig {
  readonly functionName: string;
  readonly accountId: string;
  readonly timeoutMs: number;
  readonly memoryMb: number;
}

/** A Node.js handler runs in this process; a `.py` one in python3 (checked before anything starts). */
export async function resolveInvoker(options: RunJobOptions): Promise<Invoker> {
  if (options.handler === undefined) throw new HandlerLoadError('runJob needs a handler (a function or "file#export"), or app to run a synthesized one');
  if (typeof options.handler === 'string' && isPythonHandler(options.handler)) {
    const python = await PythonHandler.load(options.handler, { python: options.python });
    return (event, config) => invokePython(python, event, config);
  }
  const handler = typeof options.handler === 'string' ? await loadHandler(options.handler) : options.handler;
  return (event, config) => invokeNode(handler, event, config);
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

export function logStreamName(): string {
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
async function invokeNode(handler: LambdaHandler, event: JobEventJson, config: InvokeConfig): Promise<InvocationResult> {
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
