/**
 * The S3 client for artifacts and what every transfer shares: the client is built with the temporary credentials
 * CodePipeline puts in the event (`artifactCredentials`: the pipeline's action role, so the function's own role needs
 * no S3 access; aws-cdk #3274).
 *
 * Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, config files): the code that
 * runs on Lambda is the code that runs against local servers.
 */
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ArtifactCredentials, S3ArtifactLocation } from '../../shared/event';
import { abortReason } from '../abort';
import { ArtifactTransferError } from '../errors';
import { errorName, httpStatus } from '../retry';

/** Builds the S3 client for a job's artifacts. Replace it through `jobHandler({ s3Client })` for advanced setups. */
export type S3ClientFactory = (credentials: ArtifactCredentials) => S3Client;

export const defaultS3ClientFactory: S3ClientFactory = (credentials) =>
  new S3Client({
    // A plain copy: the SDK tags the credentials object it is given, and the event's copy hides its secrets.
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken !== undefined ? { sessionToken: credentials.sessionToken } : {}),
      ...(credentials.expirationTime !== undefined ? { expiration: new Date(credentials.expirationTime) } : {}),
    },
  });

/** What a transfer needs besides the client and the object. */
export interface TransferOptions {
  /** The artifact, for messages: e.g. `input artifact 'Source'`. */
  readonly what: string;
  /** Stops the transfer (and every request of it) when it fires; nothing is retried after that. */
  readonly signal?: AbortSignal;
  /** Milliseconds left to the invocation: a resume that cannot finish in time is not started. */
  readonly remainingTimeMs?: () => number;
  /**
   * A download that receives nothing for this long (no response, or no byte of the body) counts as broken and is
   * resumed.
   *
   * @default RESUME_POLICY.stallTimeoutMs (./download)
   */
  readonly stallTimeoutMs?: number;
}

/** `s3://bucket/key`, as artifacts are named in messages. */
export function s3Url(location: S3ArtifactLocation): string {
  return `s3://${location.bucketName}/${location.objectKey}`;
}

/** Sends a command with the signal; once the signal has fired, the failure is its reason. */
async function sendAbortable<T>(signal: AbortSignal | undefined, send: (options: { abortSignal?: AbortSignal }) => Promise<T>): Promise<T> {
  try {
    return await send(signal !== undefined ? { abortSignal: signal } : {});
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    throw error;
  }
}

/** The size and ETag of an artifact's zip (a HEAD request). */
export async function objectInfo(client: S3Client, location: S3ArtifactLocation, options: TransferOptions): Promise<{ size: number; etag?: string }> {
  const command = new HeadObjectCommand({ Bucket: location.bucketName, Key: location.objectKey });
  let head;
  try {
    head = await sendAbortable(options.signal, (o) => client.send(command, o));
  } catch (error) {
    throw isMissingObject(error) ? missingObjectError(options.what, location, error) : error;
  }
  if (typeof head.ContentLength !== 'number') {
    throw new Error(`S3 returned no size for ${s3Url(location)}`);
  }
  return { size: head.ContentLength, ...(head.ETag !== undefined ? { etag: head.ETag } : {}) };
}

export async function objectSize(client: S3Client, location: S3ArtifactLocation, options: TransferOptions): Promise<number> {
  return (await objectInfo(client, location, options)).size;
}

/**
 * S3's "no such object" in both forms: GetObject's `NoSuchKey`/`NoSuchBucket` body, and HeadObject's bare 404, which
 * has no body and so reaches the SDK as `NotFound` with the message `UnknownError`.
 */
export function isMissingObject(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound' || httpStatus(error) === 404;
}

/** A missing artifact object, named by its artifact, bucket and key instead of S3's `NotFound: UnknownError`. */
export function missingObjectError(what: string, location: S3ArtifactLocation, cause: unknown): ArtifactTransferError {
  const name = errorName(cause);
  return new ArtifactTransferError(
    `Could not download ${what}: ${s3Url(location)} does not exist (S3 answered 404${name !== undefined ? ` ${name}` : ''}). ` +
      'The object may have been deleted or expired by a lifecycle rule, or the event names another bucket or key.',
    0,
    undefined,
    1,
    cause,
  );
}
