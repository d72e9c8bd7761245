import type * as http from 'http';
import type { ChecksumAlgorithm } from '../internal/checksums';
import type { ListenOptions } from '../internal/http';
import type { LocalCredentials } from '../internal/sigv4';

export interface LocalS3ServerOptions extends ListenOptions {
  /**
   * Credentials whose SigV4 signatures the server verifies (403 InvalidAccessKeyId / SignatureDoesNotMatch otherwise,
   * as S3 answers). With a session token, requests must carry it (`x-amz-security-token`).
   *
   * @default - no verification: any request is accepted, as moto does
   */
  readonly credentials?: readonly LocalCredentials[];
  /**
   * Where object bodies are stored. The server removes the folder on close only when it created it.
   *
   * @default - a new folder under os.tmpdir()
   */
  readonly directory?: string;
  /** The region the server reports (HeadBucket, GetBucketLocation). @default 'us-east-1' */
  readonly region?: string;
  /**
   * The largest object body a PutObject or UploadPart accepts; larger ones get S3's 400 EntityTooLarge.
   *
   * @default 5 GiB (S3's limit for a single PUT and for one part)
   */
  readonly maxObjectBytes?: number;
}

/** What the server stores for an object; `file` holds its bytes. */
export interface StoredObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Quoted, as S3 returns it: `"<md5>"`, or `"<md5 of part md5s>-<parts>"` after a multipart upload. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
  readonly contentEncoding?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  /** `x-amz-meta-*` headers, names without the prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  /** `x-amz-server-side-encryption` as S3 reports it: `AES256` unless the writer asked for `aws:kms`. */
  readonly serverSideEncryption: string;
  readonly sseKmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
  /** The full-object checksum of a single-part upload, when the writer sent one. */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
  readonly partsCount?: number;
  readonly file: string;
}

/** A request the server received, for assertions (credentials and signatures are left out). */
export interface S3RequestRecord {
  readonly method: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly operation: string;
  readonly status: number;
  readonly errorCode?: string;
  /** `x-amz-*` and content headers as received, minus `authorization` and `x-amz-security-token`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly accessKeyId?: string;
}

export interface Sse {
  readonly serverSideEncryption: string;
  readonly sseKmsKeyId?: string;
  readonly bucketKeyEnabled?: boolean;
}

export interface ObjectHeaders extends Sse {
  readonly contentType: string;
  readonly contentEncoding?: string;
  readonly cacheControl?: string;
  readonly contentDisposition?: string;
  readonly metadata: Record<string, string>;
}

export interface Part {
  readonly file: string;
  readonly size: number;
  readonly etag: string;
  readonly md5: Buffer;
}

export interface Upload {
  readonly id: string;
  readonly key: string;
  readonly initiated: Date;
  readonly headers: ObjectHeaders;
  readonly parts: Map<number, Part>;
}

export interface Bucket {
  readonly name: string;
  readonly created: Date;
  readonly objects: Map<string, StoredObjectInfo>;
  readonly uploads: Map<string, Upload>;
}

/** One S3 request as the operation handlers get it (after routing and authentication). */
export interface S3Call {
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly bucket: string;
  readonly key: string;
  readonly query: URLSearchParams;
}
