/** What the job-API emulator records and accepts: jobs, reports, requests, owners, faults and its options. */
import type { ListenOptions } from '../internal/http';
import type { LocalCredentials } from '../internal/sigv4';

export type { LocalCredentials } from '../internal/sigv4';
import type { JobApiOperation } from '../job-api-shapes';

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
