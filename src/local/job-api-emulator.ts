import * as http from 'http';
import { FaultQueue } from './internal/fault-queue';
import { closeServer, header, listen, newRequestId } from './internal/http';
import { sha256Hex, verifySigV4, type LocalCredentials } from './internal/sigv4';
import { ApiError, ConnectionReset, SIGNATURE_ERRORS, throwFault } from './job-api/errors';
import { operationOf, parseJson, readBody, signingRegion } from './job-api/requests';
import type {
  CredentialsPrincipal,
  EmulatorRequest,
  JobApiEmulatorOptions,
  JobApiFault,
  JobOwner,
  JobRecord,
  JobReport,
  JobStatus,
} from './job-api/types';
import { checkOutputVariables, checkShape, validationError } from './job-api/validation';
import { JOB_API_OPERATIONS, type JobApiOperation } from './job-api-shapes';

// What callers of the emulator name; the rest of its types are exported by index.ts from job-api/types.ts.
export type { JobApiEmulatorOptions, JobApiFault, JobRecord, LocalCredentials } from './job-api/types';


const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Bodies larger than this are not kept in the request log (its entry says how large the body was). */
const MAX_LOGGED_BODY_BYTES = 64 * 1024;
/** The request log keeps the most recent entries only, so a long-lived emulator's memory stays bounded. */
const MAX_LOGGED_REQUESTS = 1000;

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
  private readonly faults = new FaultQueue<JobApiFault>();

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
    this.faults.add(faults);
  }

  /** Forgets the faults not used up yet. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** How many faults were injected so far. */
  get faultsInjected(): number {
    return this.faults.injected;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  /** The first fault matching this request (consumed), if any. */
  private takeFault(operation: JobApiOperation, body: unknown): JobApiFault | undefined {
    const jobId = (body as { jobId?: unknown } | null)?.jobId;
    const matches = (fault: JobApiFault) =>
      (fault.target === undefined || fault.target === operation) && (fault.jobId === undefined || fault.jobId === jobId);
    return this.faults.take(matches);
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
