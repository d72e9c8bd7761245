/**
 * Input and output artifacts of a job: zips in the pipeline's artifact bucket, read and written with the event's
 * artifact credentials.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline as streamPipeline, Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from './logger';
import { objectSize, s3Url, TransferOptions } from './s3/client';
import { getObjectStream, s3RandomAccessReader } from './s3/download';
import { uploadObject } from './s3/upload';
import { extractZip } from './zip/extract';
import { ArtifactEntry, ExtractSummary, listEntries, openZip } from './zip/open';
import { openZipEntryStream, readZipEntry } from './zip/read';
import { ExtractionLimits, resolveLimits } from './zip/safety';
import { FileSpec, zipDirectory, zipFiles } from './zip/write';
import type { EncryptionKey, JobArtifact, S3ArtifactLocation } from '../shared/event';
import { READ_FILE_DEFAULT_MAX_BYTES, READ_FILE_MEMORY_FRACTION } from '../shared/limits';

/** What artifacts need from the job they belong to. */
export interface ArtifactContext {
  readonly s3: () => S3Client;
  /** A new empty folder, removed when the invocation ends. */
  readonly tempDir: (label: string) => Promise<string>;
  readonly limits: ExtractionLimits;
  readonly encryptionKey?: EncryptionKey;
  readonly logger: Logger;
  /**
   * Cancels artifact work: every S3 request gets it, and downloads, uploads and extractions stop soon after it fires,
   * rejecting with its reason (when an Error; else with `aborted: <reason>`). Nothing is retried after it fired.
   *
   * @default - nothing cancels artifact work
   */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds left to the invocation: a download is not resumed when the attempt could not finish in time.
   *
   * @default - only the number of attempts bounds resuming
   */
  readonly remainingTimeMs?: () => number;
  /**
   * Called when an artifact operation starts, with what it does (e.g. `downloading input artifact 'Source'
   * (s3://bucket/key)`); the function it returns is called when the operation ends, however it ends.
   *
   * @default - operations are not reported
   */
  readonly activity?: (description: string) => () => void;
}

export interface ExtractOptions {
  /** Limits for this artifact, over the handler's. */
  readonly limits?: Partial<ExtractionLimits>;
  /**
   * readFile only: the most bytes read into memory. An entry declared larger is refused before it is read, and one
   * that inflates past it while reading (a lying header) is refused then; stream big files with openFile() or
   * extractTo() instead.
   *
   * @default 1/8 of the function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE), 64 MiB when that is unknown
   */
  readonly maxBytes?: number;
}

/** An input artifact: a zip in S3 that an earlier action produced. */
export class InputArtifact {
  constructor(
    private readonly artifact: JobArtifact,
    private readonly context: ArtifactContext,
  ) {}

  get name(): string {
    return this.artifact.name;
  }

  /** The source revision (e.g. a commit id), or null. */
  get revision(): string | null {
    return this.artifact.revision;
  }

  get bucketName(): string {
    return this.artifact.location.s3Location.bucketName;
  }

  get objectKey(): string {
    return this.artifact.location.s3Location.objectKey;
  }

  /**
   * Downloads the zip (streamed to disk, never whole in memory) and extracts it into `dir`, refusing unsafe entries
   * and zip bombs. Returns the folder.
   *
   * @param dir where to extract; default: a fresh temporary folder, removed when the invocation ends
   */
  async extractTo(dir?: string, options: ExtractOptions = {}): Promise<string> {
    const target = dir !== undefined ? path.resolve(dir) : await this.context.tempDir(`in-${this.name}`);
    const started = Date.now();
    const zipFile = await this.downloadZip();
    try {
      const { size } = await fs.promises.stat(zipFile);
      const summary: ExtractSummary = await track(this.context, `extracting input artifact '${this.name}' into ${target}`, () =>
        extractZip({ file: zipFile }, target, this.name, this.limits(options), size, { signal: this.context.signal }),
      );
      this.context.logger.info(`Extracted input artifact ${this.name}`, { artifact: this.name, ...summary, zipBytes: size, ms: Date.now() - started });
    } finally {
      await fs.promises.rm(zipFile, { force: true });
    }
    return target;
  }

  /**
   * Reads one file of the artifact without downloading or extracting the rest (HTTP Range reads of the zip's
   * directory and of that one entry). Returns a Buffer, or a string when `encoding` is given.
   */
  async readFile(filePath: string, options?: ExtractOptions): Promise<Buffer>;
  async readFile(filePath: string, encoding: BufferEncoding, options?: ExtractOptions): Promise<string>;
  async readFile(filePath: string, encodingOrOptions?: BufferEncoding | ExtractOptions, maybeOptions?: ExtractOptions): Promise<Buffer | string> {
    const encoding = typeof encodingOrOptions === 'string' ? encodingOrOptions : undefined;
    const options = (typeof encodingOrOptions === 'object' ? encodingOrOptions : maybeOptions) ?? {};
    if (options.maxBytes !== undefined && !(Number.isSafeInteger(options.maxBytes) && options.maxBytes >= 0)) {
      throw new RangeError(`readFile of input artifact ${this.name}: maxBytes must be a whole number of bytes, not ${String(options.maxBytes)}`);
    }
    const content = await track(this.context, `reading '${filePath}' from input artifact '${this.name}'`, async () => {
      const source = await s3RandomAccessReader(this.context.s3(), this.location, this.transfer());
      return readZipEntry(source, filePath, this.name, this.limits(options), options.maxBytes ?? defaultReadFileMaxBytes());
    });
    return encoding !== undefined ? content.toString(encoding) : content;
  }

  /** Streams one file of the artifact (Range reads, like readFile), for files too big for memory. */
  async openFile(filePath: string, options: ExtractOptions = {}): Promise<Readable> {
    return trackStream(this.context, `streaming '${filePath}' from input artifact '${this.name}'`, async () => {
      const source = await s3RandomAccessReader(this.context.s3(), this.location, this.transfer());
      return openZipEntryStream(source, filePath, this.name, this.limits(options));
    });
  }

  /** Lists the artifact's entries from the zip's central directory (Range reads; no file data). */
  async list(): Promise<ArtifactEntry[]> {
    return track(this.context, `listing input artifact '${this.name}'`, async () => {
      const source = await s3RandomAccessReader(this.context.s3(), this.location, this.transfer());
      // The handler's entry limit bounds the listing's memory too.
      const zip = await openZip(source, this.name, this.context.limits);
      try {
        return (await listEntries(zip, this.name)).map((e) => e.info);
      } finally {
        zip.close();
      }
    });
  }

  /**
   * The artifact's zip itself, streamed from S3. A body that breaks off is resumed where it stopped (If-Match the
   * object's ETag); the stream fails with an ArtifactTransferError when that cannot be done.
   */
  async zipStream(): Promise<Readable> {
    return trackStream(this.context, `streaming input artifact '${this.name}' (${this.url})`, async () =>
      getObjectStream(this.context.s3(), this.location, this.transfer()),
    );
  }

  /** The size of the artifact's zip in bytes. */
  async zipSize(): Promise<number> {
    return track(this.context, `reading the size of input artifact '${this.name}' (${this.url})`, () =>
      objectSize(this.context.s3(), this.location, this.transfer()),
    );
  }

  /**
   * Saves the artifact's zip to a file (streamed) and returns its path. A body that breaks off is resumed where it
   * stopped (If-Match the object's ETag, a few attempts with backoff, within the time left); when that fails, the
   * ArtifactTransferError names the artifact, the bytes received and the cause.
   *
   * @param file default: a file in a fresh temporary folder, removed when the invocation ends
   */
  async downloadZip(file?: string): Promise<string> {
    const target = file ?? path.join(await this.context.tempDir(`zip-${this.name}`), 'artifact.zip');
    await track(this.context, `downloading input artifact '${this.name}' (${this.url})`, () =>
      pipeline(getObjectStream(this.context.s3(), this.location, this.transfer()), fs.createWriteStream(target)),
    );
    return target;
  }

  private get location(): S3ArtifactLocation {
    return this.artifact.location.s3Location;
  }

  private get url(): string {
    return s3Url(this.location);
  }

  private transfer(): TransferOptions {
    return transferOptions(this.context, `input artifact '${this.name}'`);
  }

  private limits(options: ExtractOptions): ExtractionLimits {
    return resolveLimits(this.context.limits, options.limits);
  }
}

/** An output artifact: the zip this action produces for later actions. */
export class OutputArtifact {
  constructor(
    private readonly artifact: JobArtifact,
    private readonly context: ArtifactContext,
  ) {}

  get name(): string {
    return this.artifact.name;
  }

  get bucketName(): string {
    return this.artifact.location.s3Location.bucketName;
  }

  get objectKey(): string {
    return this.artifact.location.s3Location.objectKey;
  }

  /**
   * Zips the folder and uploads it as this artifact, streaming (bounded memory whatever the size). Executable bits
   * and symlinks are kept. Encrypted with the pipeline's KMS key when the event carries one.
   */
  async uploadDirectory(dir: string): Promise<void> {
    const stats = await fs.promises.stat(dir);
    if (!stats.isDirectory()) {
      throw new Error(`Output artifact ${this.name}: ${dir} is not a folder`);
    }
    await this.upload(zipDirectory(dir), `folder ${dir}`);
  }

  /**
   * Zips the given files (path inside the artifact -> content: a string, bytes, a stream, or `{ content, mode }`) and
   * uploads them as this artifact.
   */
  async uploadFiles(files: { readonly [filePath: string]: FileSpec }): Promise<void> {
    await this.upload(zipFiles(files, this.name), `${Object.keys(files).length} files`);
  }

  /** Uploads a ready zip (a stream or a file path) as this artifact, as it is. */
  async uploadZip(zip: Readable | string): Promise<void> {
    await this.upload(typeof zip === 'string' ? fs.createReadStream(zip) : zip, 'a zip');
  }

  private async upload(body: Readable, what: string): Promise<void> {
    const started = Date.now();
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    // The callback form: a failing zip (an unreadable file) destroys `counted`, which fails the upload.
    streamPipeline(body, counted, () => undefined);
    const location = this.artifact.location.s3Location;
    const transfer = transferOptions(this.context, `output artifact '${this.name}'`);
    try {
      await track(this.context, `uploading output artifact '${this.name}' (${s3Url(location)})`, () =>
        uploadObject(this.context.s3(), location, counted, this.context.encryptionKey, transfer),
      );
    } catch (error) {
      counted.destroy(); // stops the zip writer (and closes the files it reads)
      throw error;
    }
    this.context.logger.info(`Uploaded output artifact ${this.name}`, {
      artifact: this.name,
      from: what,
      zipBytes: bytes,
      kms: this.context.encryptionKey !== undefined,
      ms: Date.now() - started,
    });
  }
}

/** readFile's default limit: a share of the function's memory (READ_FILE_MEMORY_FRACTION), or a fixed size outside Lambda. */
export function defaultReadFileMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const memoryMb = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  if (!Number.isFinite(memoryMb) || memoryMb <= 0) return READ_FILE_DEFAULT_MAX_BYTES;
  return Math.floor(memoryMb * 1024 * 1024 * READ_FILE_MEMORY_FRACTION);
}

function transferOptions(context: ArtifactContext, what: string): TransferOptions {
  return {
    what,
    ...(context.signal !== undefined ? { signal: context.signal } : {}),
    ...(context.remainingTimeMs !== undefined ? { remainingTimeMs: context.remainingTimeMs } : {}),
  };
}

/** Runs `fn` as an activity of the context (see ArtifactContext.activity). */
async function track<T>(context: ArtifactContext, description: string, fn: () => Promise<T>): Promise<T> {
  const end = context.activity?.(description);
  try {
    return await fn();
  } finally {
    end?.();
  }
}

/** Like track, for an operation that returns a stream: the activity lasts until the stream closes. */
async function trackStream(context: ArtifactContext, description: string, open: () => Promise<Readable>): Promise<Readable> {
  const end = context.activity?.(description);
  if (end === undefined) return open();
  let stream: Readable;
  try {
    stream = await open();
  } catch (error) {
    end();
    throw error;
  }
  if (stream.destroyed) end();
  else stream.once('close', end);
  return stream;
}
