/**
 * The errors the runtime throws and exports, in one place: a refused artifact zip, an artifact transfer that could not
 * be completed, and a report to CodePipeline that could not be made. Each keeps its name and fields; the runtime index
 * exports them as before.
 */
import { JobFailedError } from '../shared/errors';

/** Why an artifact was refused. */
export type ArtifactSafetyReason = 'unsafe-path' | 'unsafe-symlink' | 'too-many-entries' | 'too-large' | 'compression-ratio' | 'corrupt';

/** An artifact zip was refused as unsafe (or is corrupt). Fails the job as `JobFailed`. */
export class ArtifactSafetyError extends JobFailedError {
  public readonly reason: ArtifactSafetyReason;
  /** The entry at fault, when there is one. */
  public readonly entry?: string;

  constructor(reason: ArtifactSafetyReason, message: string, entry?: string) {
    super(message, 'JobFailed');
    this.name = 'ArtifactSafetyError';
    this.reason = reason;
    this.entry = entry;
  }
}

/** A download of an artifact that could not be completed (or an object that changed while it was read). */
export class ArtifactTransferError extends JobFailedError {
  constructor(
    message: string,
    /** Bytes of the requested range received before giving up. */
    readonly bytesReceived: number,
    /** Bytes the request covers, when S3 said. */
    readonly bytesExpected: number | undefined,
    /** Requests made. */
    readonly attempts: number,
    /** The last error of the transfer. */
    readonly cause: unknown,
  ) {
    super(message);
    this.name = 'ArtifactTransferError';
  }
}

/** Thrown when a report could not be made within the time left: Lambda then retries, and the crash reporter reports last. */
export class JobReportError extends Error {
  constructor(
    message: string,
    /** The last error of the API call. */
    readonly cause: unknown,
    /** How many times the report was sent. */
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'JobReportError';
  }
}
