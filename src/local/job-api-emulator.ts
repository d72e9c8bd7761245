import * as http from 'http';
import { OUTPUT_VARIABLES_MAX_BYTES } from '../shared/limits';
import { closeServer, header, listen, newRequestId, type ListenOptions } from './internal/http';
import { sha256Hex, verifySigV4, type LocalCredentials, type SigV4Refusal } from './internal/sigv4';
import {
  JOB_API_OPERATIONS,
  JOB_API_SHAPES,
  JOB_API_TARGET_PREFIX,
  type JobApiOperation,
  type Shape,
} from './job-api-shapes';

export type { LocalCredentials } from './internal/sigv4';

/** The state of an emulated job, as CodePipeline tracks it. */
export type JobStatus = 'InProgress' | 'Succeeded' | 'Failed';

/** One accepted PutJobSuccessResult / PutJobFailureResult, as the job worker sent it (JSON as received). */
export interface JobReport {
  readonly operation: JobApiOperation;
  readonly receivedAt: Date;
  readonly jobId: string;
  readonly continuationToken?: string;
  readonly executionDetails?: { readonly summary?: string; readonly externalExecutionId?: string; readonly percentComplete?: number };
  readonly outputVariables?: Readonly<Record<string, string>>;
  readonly currentRevision?: {
    readonly revision: string;
    readonly changeIdentifier: string;
    readonly created?: number;
    readonly revisionSummary?: string;
  };
  readonly failureDetails?: { readonly type: string; readonly message: string; readonly externalExecutionId?: string };
}

/**
 * Whom a job belongs to. With an account, reports are accepted only with credentials of a principal of that account
 * (see `addCredentials`): CodePipeline has no resource-based policies, so a principal of another account is refused
 * with AccessDeniedException. With a region, only reports signed for that region reach it (on AWS another region's
 * endpoint does not know the job: JobNotFoundException).
 */
export interface JobOwner {
  readonly accountId?: string;
  readonly region?: string;
}

/** The principal that credentials stand for. */
export interface CredentialsPrincipal {
  readonly accountId: string;
  /** e.g. `arn:aws:sts::111111111111:assumed-role/result-role/session` */
  readonly arn: string;
}

/** What the emulator knows about a job. */
export interface JobRecord {
  readonly id: string;
  readonly status: JobStatus;
  /** The token of the latest success-with-continuation: the next invocation's `data.continuationToken`. */
  readonly continuationToken?: string;
  /** Every accepted report, oldest first. */
  readonly results: readonly JobReport[];
}

/** Every request the emulator received, accepted or not, for assertions. */
export interface EmulatorRequest {
  /** `X-Amz-Target` as sent (undefined when missing). */
  readonly target?: string;
  readonly operation?: string;
  /** The parsed JSON body (undefined when it was not JSON). */
  readonly body?: unknown;
  readonly status: number;
  /** The AWS error code (`__type`) when the request was refused. */
  readonly errorType?: string;
  /** The body's size in bytes (its content is kept in `body` only up to 64 KB). */
  readonly bodyBytes?: number;
  readonly errorMessage?: string;
  readonly accessKeyId?: string;
  /** True when an injected fault answered this request. */
  readonly fault?: boolean;
}

export interface JobApiEmulatorOptions extends ListenOptions {
  /**
   * Credentials whose SigV4 signatures the emulator verifies; a request signed with anything else is refused as AWS
   * refuses it (UnrecognizedClientException, InvalidSignatureException).
   *
   * @default - any well-formed (or missing) signature is accepted
   */
  readonly credentials?: readonly LocalCredentials[];
}

/**
 * A fault the emulator injects instead of (or after) handling a report, to test how a job worker copes with the
 * errors CodePipeline really returns: `ThrottlingException` (HTTP 400, which the SDK retries as throttling),
 * `InternalFailure`/`ServiceUnavailableException` (500/503), or a dropped connection.
 */
export interface JobApiFault {
  /** The operation to fail. @default - both PutJobSuccessResult and PutJobFailureResult */
  readonly target?: JobApiOperation;
  /** Only reports for this job. @default - any job */
  readonly jobId?: string;
  /** The AWS error code (`__type`). @default 'ThrottlingException' for status 400, else 'InternalFailure' */
  readonly type?: string;
  /** @default 400 when `type` is ThrottlingException, else 500 */
  readonly status?: number;
  /** @default - a message like AWS's */
  readonly message?: string;
  /** How many matching requests fail (then the fault is used up). @default 1 */
  readonly times?: number;
  /** Close the connection without an answer (the client sees ECONNRESET) instead of an error response. @default false */
  readonly reset?: boolean;
  /**
   * 'before': the request is refused and the job is unchanged (the default). 'after': the report is accepted, then its
   * response is lost (an error or a reset): the worker retries a report CodePipeline already has.
   */
  readonly when?: 'before' | 'after';
  /** Wait this long before answering (or failing). @default 0 */
  readonly delayMs?: number;
}

/** An AWS JSON 1.1 error, as `{"__type": code, "message": ...}` with its HTTP status. */
class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Requests of this API are small; the largest legal one (output variables) is well under 1 MB. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** Bodies larger than this are not kept in the request log (its entry says how large the body was). */
const MAX_LOGGED_BODY_BYTES = 64 * 1024;
/** The request log keeps the most recent entries only, so a long-lived emulator's memory stays bounded. */
const MAX_LOGGED_REQUESTS = 1000;
/**
 * The job-worker operations of custom actions. CodePipeline has them, but a Lambda invoke action's job is not a
 * custom-action job: the API reference says GetJobDetails is "used for custom actions only", and such a function
 * gets its job details in the event and reports with PutJobSuccessResult / PutJobFailureResult.
 */
const CUSTOM_ACTION_OPERATIONS = new Set(['GetJobDetails', 'AcknowledgeJob', 'PollForJobs']);
/** How much of an offending value a ValidationException quotes. */
const QUOTED_VALUE_MAX_LENGTH = 120;

const SIGNATURE_ERRORS: Record<SigV4Refusal, string> = {
  missing: 'MissingAuthenticationTokenException',
  malformed: 'IncompleteSignatureException',
  unknownKey: 'UnrecognizedClientException',
  badToken: 'UnrecognizedClientException',
  badSignature: 'InvalidSignatureException',
  // AWS JSON services answer a stale signature with InvalidSignatureException ("Signature expired: ...").
  skewed: 'InvalidSignatureException',
  expired: 'InvalidSignatureException',
};

/**
 * An emulator of CodePipeline's job-worker API (`PutJobSuccessResult`, `PutJobFailureResult`) on 127.0.0.1.
 *
 * It speaks AWS JSON 1.1 like the real service, so the unmodified `@aws-sdk/client-codepipeline` talks to it through
 * its `endpoint` option or `AWS_ENDPOINT_URL_CODEPIPELINE`. Requests are validated as the API model says (required
 * members, lengths, patterns, enums) plus the service's own rules (no output variables with a continuation token,
 * their total size, a report only while the job is in progress), and refused with the real error shapes.
 */
export class JobApiEmulator {
  /** Starts an emulator on 127.0.0.1 (a free port unless `port` is given). */
  static async start(options: JobApiEmulatorOptions = {}): Promise<JobApiEmulator> {
    const emulator = new JobApiEmulator(options);
    emulator._endpoint = await listen(emulator.server, options);
    return emulator;
  }

  private readonly server: http.Server;
  private readonly jobs = new Map<string, { status: JobStatus; continuationToken?: string; results: JobReport[]; owner?: JobOwner }>();
  private readonly principals = new Map<string, CredentialsPrincipal>();
  private readonly log: EmulatorRequest[] = [];
  private readonly listeners = new Set<(report: JobReport) => void>();
  private readonly credentials = new Map<string, LocalCredentials>();
  private readonly verifySignatures: boolean;
  private _endpoint = '';
  private readonly faults: Array<{ fault: JobApiFault; remaining: number }> = [];
  private injected = 0;

  private constructor(options: JobApiEmulatorOptions) {
    this.verifySignatures = options.credentials !== undefined;
    for (const c of options.credentials ?? []) this.credentials.set(c.accessKeyId, c);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendError(res, new ApiError('InternalFailure', String(err), 500));
      });
    });
  }

  /** `http://127.0.0.1:PORT`: give it to the SDK as `endpoint` or `AWS_ENDPOINT_URL_CODEPIPELINE`. */
  get endpoint(): string {
    return this._endpoint;
  }

  /** Every request received so far, oldest first. */
  get requests(): readonly EmulatorRequest[] {
    return this.log;
  }

  /** Makes a job known and in progress. A report on an unknown job gets JobNotFoundException, as on AWS. */
  registerJob(jobId: string, owner?: JobOwner): void {
    if (!this.jobs.has(jobId)) this.jobs.set(jobId, { status: 'InProgress', results: [], owner });
  }

  /** Forgets a job (runJob does once a run's outcome is read), so that memory stays bounded over many jobs. */
  forgetJob(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** A snapshot of what the emulator knows about a job. */
  job(jobId: string): JobRecord | undefined {
    const job = this.jobs.get(jobId);
    return job && { id: jobId, status: job.status, continuationToken: job.continuationToken, results: [...job.results] };
  }

  /** Accepts SigV4 signatures made with these credentials too (turns verification on if it was off). */
  addCredentials(credentials: LocalCredentials, principal?: CredentialsPrincipal): void {
    this.credentials.set(credentials.accessKeyId, credentials);
    if (principal !== undefined) this.principals.set(credentials.accessKeyId, principal);
  }

  /** Calls `listener` after each accepted report; returns a function that unsubscribes it. */
  onReport(listener: (report: JobReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Injects faults: each matching request (in order of the list) fails as described until the fault is used up.
   *
   *   emulator.injectFaults([{ target: 'PutJobSuccessResult', type: 'ThrottlingException', times: 2 }]);
   */
  injectFaults(faults: readonly JobApiFault[]): void {
    for (const fault of faults) this.faults.push({ fault, remaining: fault.times ?? 1 });
  }

  /** Forgets the faults not used up yet. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** How many faults were injected so far. */
  get faultsInjected(): number {
    return this.injected;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  /** The first fault matching this request (consumed), if any. */
  private takeFault(operation: JobApiOperation, body: unknown): JobApiFault | undefined {
    const jobId = (body as { jobId?: unknown } | null)?.jobId;
    const matches = (fault: JobApiFault) =>
      (fault.target === undefined || fault.target === operation) && (fault.jobId === undefined || fault.jobId === jobId);
    const index = this.faults.findIndex(({ fault, remaining }) => remaining > 0 && matches(fault));
    if (index < 0) return undefined;
    const slot = this.faults[index];
    slot.remaining--;
    if (slot.remaining <= 0) this.faults.splice(index, 1);
    this.injected++;
    return slot.fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const target = header(req, 'x-amz-target');
    const entry: { -readonly [K in keyof EmulatorRequest]: EmulatorRequest[K] } = { target, status: 200 };
    this.log.push(entry);
    if (this.log.length > MAX_LOGGED_REQUESTS) this.log.splice(0, this.log.length - MAX_LOGGED_REQUESTS);
    try {
      const raw = await readBody(req);
      entry.bodyBytes = raw.length;
      const lookup = this.verifySignatures || this.credentials.size > 0 ? (id: string) => this.credentials.get(id) : undefined;
      const signature = verifySigV4(req, sha256Hex(raw), lookup);
      if (!signature.ok) throw new ApiError(SIGNATURE_ERRORS[signature.reason], signature.message, signature.reason === 'missing' ? 403 : 400);
      entry.accessKeyId = signature.accessKeyId;
      const operation = operationOf(req, target);
      entry.operation = operation;
      const body = parseJson(raw);
      if (raw.length <= MAX_LOGGED_BODY_BYTES) entry.body = body;
      const fault = this.takeFault(operation, body);
      if (fault?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault !== undefined && fault.when !== 'after') {
        entry.fault = true;
        throwFault(fault);
      }
      const violations: string[] = [];
      const root = JOB_API_OPERATIONS[operation];
      checkShape(root, body, '', violations);
      if (violations.length > 0) throw validationError(violations);
      const report = this.accept(operation, body as Record<string, unknown>, { accessKeyId: signature.accessKeyId, region: signingRegion(req) });
      for (const listener of this.listeners) listener(report);
      if (fault !== undefined) {
        entry.fault = true;
        throwFault(fault);
      }
      res.writeHead(200, { 'content-type': JSON_CONTENT_TYPE, 'x-amzn-requestid': newRequestId(), 'content-length': '2' });
      res.end('{}');
    } catch (err) {
      if (err instanceof ConnectionReset) {
        entry.status = 0;
        entry.errorType = 'ConnectionReset';
        res.socket?.destroy();
        return;
      }
      const error = err instanceof ApiError ? err : new ApiError('InternalFailure', String(err), 500);
      entry.status = error.status;
      entry.errorType = error.code;
      entry.errorMessage = error.message;
      this.sendError(res, error);
    }
  }

  /** The service's rules beyond the model, then the state change. */
  private accept(operation: JobApiOperation, body: Record<string, unknown>, caller: { accessKeyId?: string; region?: string } = {}): JobReport {
    const jobId = body.jobId as string;
    const job = this.jobs.get(jobId);
    if (!job) throw new ApiError('JobNotFoundException', `Job ${jobId} was not found. (Known jobs: ${[...this.jobs.keys()].join(', ') || 'none'})`);
    this.checkOwner(operation, jobId, job.owner, caller);
    if (job.status !== 'InProgress') {
      throw new ApiError('InvalidJobStateException', `Job ${jobId} is in state ${job.status}: a job accepts one result only while it is InProgress.`);
    }
    const report = { operation, receivedAt: new Date(), ...body } as JobReport;
    if (operation === 'PutJobSuccessResult') {
      checkOutputVariables(report);
      job.status = report.continuationToken !== undefined ? 'InProgress' : 'Succeeded';
      job.continuationToken = report.continuationToken;
    } else {
      job.status = 'Failed';
      job.continuationToken = undefined;
    }
    job.results.push(report);
    return report;
  }

  /** A job of another account or region is out of the caller's reach, as on AWS. */
  private checkOwner(operation: JobApiOperation, jobId: string, owner: JobOwner | undefined, caller: { accessKeyId?: string; region?: string }) {
    if (owner?.region !== undefined && caller.region !== undefined && caller.region !== owner.region) {
      throw new ApiError('JobNotFoundException', `Job ${jobId} was not found in ${caller.region}: it belongs to a pipeline in ${owner.region}.`);
    }
    if (owner?.accountId === undefined) return;
    const principal = caller.accessKeyId === undefined ? undefined : this.principals.get(caller.accessKeyId);
    if (principal === undefined || principal.accountId !== owner.accountId) {
      const who = principal?.arn ?? `the caller (access key ${caller.accessKeyId ?? 'none'})`;
      throw new ApiError(
        'AccessDeniedException',
        `User: ${who} is not authorized to perform: codepipeline:${operation} on a job of account ${owner.accountId}`,
      );
    }
  }

  private sendError(res: http.ServerResponse, error: ApiError): void {
    const body = JSON.stringify({ __type: error.code, message: error.message });
    res.writeHead(error.status, {
      'content-type': JSON_CONTENT_TYPE,
      'x-amzn-requestid': newRequestId(),
      'x-amzn-errortype': error.code,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }
}

/** Thrown to drop the connection without an answer. */
class ConnectionReset extends Error {}

function throwFault(fault: JobApiFault): never {
  if (fault.reset === true) throw new ConnectionReset('injected connection reset');
  const status = fault.status ?? (fault.type === undefined || fault.type === 'ThrottlingException' ? 400 : 500);
  const type = fault.type ?? (status === 400 ? 'ThrottlingException' : status === 503 ? 'ServiceUnavailableException' : 'InternalFailure');
  throw new ApiError(type, fault.message ?? (type === 'ThrottlingException' ? 'Rate exceeded' : 'Injected fault: the service failed to handle the request'), status);
}

function operationOf(req: http.IncomingMessage, target: string | undefined): JobApiOperation {
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    throw new ApiError('UnknownOperationException', `${req.method} ${req.url}: the CodePipeline API takes POST / with an X-Amz-Target header.`, 404);
  }
  const prefix = `${JOB_API_TARGET_PREFIX}.`;
  const name = target?.startsWith(prefix) ? target.slice(prefix.length) : undefined;
  if (name !== undefined && CUSTOM_ACTION_OPERATIONS.has(name)) {
    throw new ApiError(
      'ValidationException',
      `${name} is a custom-action job-worker API ("used for custom actions only", CodePipeline API reference); a Lambda invoke ` +
        'action job is not a custom-action job. A Lambda function gets the job details in its event (CodePipeline.job) and ' +
        'reports with PutJobSuccessResult or PutJobFailureResult.',
    );
  }
  if (name === undefined || !(name in JOB_API_OPERATIONS)) {
    throw new ApiError(
      'UnknownOperationException',
      `Operation ${target ?? '(no X-Amz-Target header)'} is not served by this emulator; it serves ${Object.keys(JOB_API_OPERATIONS)
        .map((op) => prefix + op)
        .join(' and ')}.`,
    );
  }
  return name as JobApiOperation;
}

/**
 * Reads the body up to MAX_REQUEST_BYTES. A larger body is read to its end and discarded (never kept in memory), then
 * refused with 413: a client error SDKs do not retry (a 500 would be retried), on a kept-alive connection that stays
 * usable (answering before the body is read would leave its rest in the stream).
 */
async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_REQUEST_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_REQUEST_BYTES) {
    throw new ApiError('RequestEntityTooLargeException', `The request body has ${size} bytes; this API accepts at most ${MAX_REQUEST_BYTES}.`, 413);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.length === 0 ? '{}' : raw.toString('utf8'));
  } catch (err) {
    throw new ApiError('SerializationException', `The request body is not valid JSON: ${(err as Error).message}`);
  }
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > QUOTED_VALUE_MAX_LENGTH ? `${text.slice(0, QUOTED_VALUE_MAX_LENGTH)}...` : text;
}

/** The message AWS's request validation produces: "2 validation errors detected: Value ... at 'x' failed ...; ...". */
function validationError(violations: readonly string[]): ApiError {
  const count = violations.length === 1 ? '1 validation error' : `${violations.length} validation errors`;
  return new ApiError('ValidationException', `${count} detected: ${violations.join('; ')}`);
}

function fullMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** Type errors are SerializationException on AWS (the JSON does not deserialize); constraint errors are collected. */
function checkShape(shapeName: string, value: unknown, path: string, violations: string[]): void {
  const shape: Shape = JOB_API_SHAPES[shapeName];
  const at = path === '' ? 'the request' : `'${path}'`;
  const typeError = (expected: string) =>
    new ApiError('SerializationException', `Expected ${expected} at ${at} (shape ${shapeName}), got ${value === null ? 'null' : typeof value}.`);
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('an object');
      const obj = value as Record<string, unknown>;
      // The model is closed: a member it does not have (outputVariables on a failure, a typo) is refused, not stored.
      const unknown = Object.keys(obj).filter((member) => !Object.prototype.hasOwnProperty.call(shape.members, member));
      if (unknown.length > 0) {
        throw new ApiError(
          'SerializationException',
          `Unknown member${unknown.length > 1 ? 's' : ''} ${unknown.map((m) => `'${join(path, m)}'`).join(', ')} in ${at} (shape ${shapeName}); ` +
            `its members are: ${Object.keys(shape.members).join(', ')}.`,
        );
      }
      for (const member of shape.required ?? []) {
        if (obj[member] === undefined || obj[member] === null) {
          violations.push(`Value null at '${join(path, member)}' failed to satisfy constraint: Member must not be null`);
        }
      }
      for (const [member, memberShape] of Object.entries(shape.members)) {
        if (obj[member] !== undefined && obj[member] !== null) checkShape(memberShape, obj[member], join(path, member), violations);
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') throw typeError('a string');
      const fail = (constraint: string) => violations.push(`Value '${quote(value)}' at ${at} failed to satisfy constraint: ${constraint}`);
      if (shape.min !== undefined && value.length < shape.min) fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);
      if (shape.pattern !== undefined && !fullMatch(shape.pattern).test(value)) fail(`Member must satisfy regular expression pattern: ${shape.pattern}`);
      if (shape.enum !== undefined && !shape.enum.includes(value)) fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      return;
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw typeError('an integer');
      const fail = (constraint: string) => violations.push(`Value '${value}' at ${at} failed to satisfy constraint: ${constraint}`);
      if (shape.min !== undefined && value < shape.min) fail(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) fail(`Member must have value less than or equal to ${shape.max}`);
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw typeError('an object (map)');
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const keyViolations: string[] = [];
        checkShape(shape.key, key, path, keyViolations);
        for (const v of keyViolations) violations.push(v.replace('failed to satisfy constraint: ', 'failed to satisfy constraint: Map keys must satisfy constraint: '));
        checkShape(shape.value, item, `${path}.${key}`, violations);
      }
      return;
    }
    case 'timestamp':
      if (typeof value !== 'number') throw typeError('a timestamp (epoch seconds)');
      return;
  }
}

function join(path: string, member: string): string {
  return path === '' ? member : `${path}.${member}`;
}

/**
 * CodePipeline refuses output variables together with a continuation token (they belong to the action's final
 * result) and caps their total size (quotas: 122,880 bytes for all values of one action).
 */
function checkOutputVariables(report: JobReport): void {
  const variables = report.outputVariables;
  if (variables === undefined) return;
  if (report.continuationToken !== undefined) {
    throw validationError(['outputVariables cannot be set together with a continuationToken: report them with the final result']);
  }
  const bytes = Object.values(variables).reduce((sum, value) => sum + Buffer.byteLength(value, 'utf8'), 0);
  if (bytes > OUTPUT_VARIABLES_MAX_BYTES) {
    throw new ApiError(
      'OutputVariablesSizeExceededException',
      `The output variables total ${bytes} bytes, more than the ${OUTPUT_VARIABLES_MAX_BYTES} bytes allowed for one action.`,
    );
  }
}

/** The region a SigV4 request was signed for (its credential scope), if it is signed. */
function signingRegion(req: http.IncomingMessage): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
}
