/* eslint-disable no-bitwise -- zip headers pack UNIX modes and host ids into bit fields */
/**
 * Opening an artifact zip and listing its central directory: the zip as the other modules see it (ZipSource,
 * ZipArchive, ZipEntry, ArtifactEntry), how errors of the zip reader are named, and when a listing stops.
 *
 * The central directory is read by central-directory.ts (the zip's real table of contents, never the local headers'
 * names or sizes), through the random-access reader (so one file can be read from S3 with Range requests). It loads on
 * first use: handlers that never open an artifact do not pay for it.
 */
import { abortReason } from '../abort';
import { isTransportError, markTransportError, ZipByteReader } from '../random-access';
import type { CentralDirectory as ZipFile, CentralEntry as Entry } from './central-directory';
import { checkEntryCount, checkEntryNameLength, ExtractionLimits, shortName } from './safety';
import { ENTRY_PATH_MAX_BYTES } from '../../shared/limits';
import { ArtifactSafetyError } from '../errors';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
/** `versionMadeBy` high byte 3 = UNIX: only then do the external attributes hold a file mode. */
const MADE_BY_UNIX = 3;
/** Read and write chunks for large entries and cached blocks of the central directory (Node's 16-64 KiB default costs more CPU; larger ones more memory). */
export const BIG_CHUNK_BYTES = 256 * 1024;
/** Listing and planning hand the event loop back every this many entries, so that the deadline watchdog can act. */
export const ENTRIES_BETWEEN_YIELDS = 2000;
/** What an extraction wrote. */
export interface ExtractSummary {
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  readonly bytes: number;
}

/** One entry of an artifact zip, as listed by its central directory. */
export interface ArtifactEntry {
  /** The path inside the artifact, '/' separated; folders end with '/'. */
  readonly path: string;
  readonly kind: 'file' | 'directory' | 'symlink';
  readonly size: number;
  readonly compressedSize: number;
  /** The UNIX permission bits recorded in the zip, when it records them. */
  readonly mode?: number;
}

/** A zip: a local file, or a random-access reader (S3 Range requests). */
export type ZipSource = { readonly file: string } | { readonly reader: ZipByteReader; readonly size: number };

/** An opened zip, as the other modules see it (they only close it and pass it back to listEntries). */
export interface ZipArchive {
  /** Entries the end-of-central-directory record declares. */
  readonly entryCount: number;
  close(): void;
}

/** A central-directory entry, by the fields the runtime reads (the zip reader's entry, without naming its types). */
export interface ZipEntry {
  readonly fileName: string;
  readonly uncompressedSize: number;
  readonly compressedSize: number;
  readonly compressionMethod: number;
  readonly crc32: number;
}

/**
 * Opens a zip: reads its end-of-central-directory record (and the ZIP64 one when present), nothing else yet.
 * With `limits`, a zip whose end record declares more than `maxEntries` entries is refused right there, before a
 * single entry is listed: a 65,537-entry zip costs one small read, not the listing of 65,537 entries. (The reader lists no
 * more entries than the end record declares, so a record that understates the count cannot smuggle more in.)
 */
export async function openZip(source: ZipSource, artifact: string, limits?: Pick<ExtractionLimits, 'maxEntries'>): Promise<ZipArchive> {
  return openCentralDirectory(source, artifact, limits);
}

/** Lists every entry of the central directory (reads no file data). */
export async function listEntries(zip: ZipArchive, artifact: string, signal?: AbortSignal): Promise<Array<{ entry: ZipEntry; info: ArtifactEntry }>> {
  return listCentralEntries(zip as ZipFile, artifact, signal);
}

/** The zip reader, loaded on first use: the runtime's import cost stays small for handlers that never touch artifacts. */
function reader(): typeof import('./central-directory') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./central-directory');
}

export async function openCentralDirectory(
  source: ZipSource,
  artifact: string,
  limits?: Pick<ExtractionLimits, 'maxEntries'>,
): Promise<ZipFile> {
  const { reader: bytes, size } = 'file' in source ? await reader().fileZipReader(source.file, BIG_CHUNK_BYTES) : source;
  let zip: ZipFile;
  try {
    zip = await reader().openCentralDirectory(bytes, size);
  } catch (error) {
    throw asZipError(error, artifact);
  }
  if (limits !== undefined) {
    try {
      checkEntryCount(zip.entryCount, limits, artifact);
    } catch (error) {
      zip.close();
      throw error;
    }
  }
  return zip;
}

/**
 * The entries of the central directory. Each name is bounded (ENTRY_PATH_MAX_BYTES) before it is decoded or anything
 * else is done with it; every few thousand entries the event loop gets a turn (reads from the window resolve as
 * microtasks, which would otherwise starve timers), and the listing stops once `signal` fires.
 */
export async function listCentralEntries(
  zip: ZipFile,
  artifact: string,
  signal?: AbortSignal,
): Promise<Array<{ entry: Entry; info: ArtifactEntry }>> {
  const { decodeFileName, releaseRawFields } = reader();
  const result: Array<{ entry: Entry; info: ArtifactEntry }> = [];
  try {
    for (let entry = await zip.readEntry(); entry !== undefined; entry = await zip.readEntry()) {
      const raw = entry.fileNameRaw as Buffer;
      if (raw.length > ENTRY_PATH_MAX_BYTES) checkEntryNameLength(raw.toString('latin1'), artifact);
      entry.fileName = decodeFileName(entry);
      checkEntryNameLength(entry.fileName, artifact);
      releaseRawFields(entry);
      result.push({ entry, info: describeEntry(entry) });
      if (result.length % ENTRIES_BETWEEN_YIELDS === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (signal?.aborted) throw markTransportError(abortReason(signal));
      }
    }
  } catch (error) {
    throw asZipError(error, artifact);
  }
  return result;
}

function describeEntry(entry: Entry): ArtifactEntry {
  const unixMode = entry.versionMadeBy >> 8 === MADE_BY_UNIX ? (entry.externalFileAttributes >>> 16) & 0xffff : 0;
  const type = unixMode & S_IFMT;
  const isDirectory = entry.fileName.endsWith('/') || type === S_IFDIR;
  const kind = isDirectory ? 'directory' : type === S_IFLNK ? 'symlink' : 'file';
  const permissions = unixMode & 0o777;
  return {
    path: entry.fileName,
    kind,
    size: entry.uncompressedSize,
    compressedSize: entry.compressedSize,
    ...(permissions !== 0 ? { mode: permissions } : {}),
  };
}

/** An extraction stops between entries once the signal fires, with its reason (never called a corrupt zip). */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw markTransportError(abortReason(signal));
}

/** The zip reader reports corrupt records as plain Errors; give them the artifact's name and a reason. */
export function asZipError(error: unknown, artifact: string): Error {
  if (error instanceof ArtifactSafetyError) return error;
  if (isTransportError(error)) return error as Error; // S3, the network, an abort: not the zip's fault
  const message = error instanceof Error ? error.message : String(error);
  if ((error as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
    // A name within ENTRY_PATH_MAX_BYTES that is too long once joined to the folder's own path.
    return new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: an entry's path is too long for the file system (${shortName(message)}); refusing to extract`);
  }
  // File system and S3 errors are not the zip's fault: pass them on as they are.
  if (error instanceof Error && ((error as NodeJS.ErrnoException).code !== undefined || '$metadata' in error)) return error;
  return new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: ${message}`);
}
