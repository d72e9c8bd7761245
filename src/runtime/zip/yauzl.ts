/**
 * The parts of yauzl (the zip reader) the runtime relies on beyond its typed API, in one place: the lazy loader, its
 * name decoder (getFileNameLowLevel), the raw fields of an entry, readLocalFileHeader, stored-data streams and the
 * reader reference it keeps. They are yauzl 3.x internals (written against yauzl 3.4.0; package.json allows ^3): check
 * them here when yauzl is upgraded. The tests in test/runtime/zip*.test.ts and test/reliability/hostile-zips.test.ts
 * exercise each of them.
 */
import type { Readable } from 'stream';
import type { ZipFile } from 'yauzl';

/**
 * yauzl's entry, by the fields the runtime reads. Declared here, not imported, so that no published declaration imports
 * @types/yauzl (a dev dependency: a user's `tsc` would fail with TS7016).
 */
export interface YauzlEntry {
  fileName: string;
  readonly versionMadeBy: number;
  readonly externalFileAttributes: number;
  readonly uncompressedSize: number;
  readonly compressedSize: number;
  readonly compressionMethod: number;
  readonly crc32: number;
  readonly relativeOffsetOfLocalHeader: number;
  isEncrypted(): boolean;
}

/** yauzl's opened zip (`lazyEntries: true`), by the members the runtime uses (declared here for the same reason). */
export interface YauzlZip {
  readonly entryCount: number;
  readEntry(): void;
  close(): void;
  on(event: 'entry', listener: (entry: YauzlEntry) => void): unknown;
  once(event: 'end' | 'error', listener: (error?: unknown) => void): unknown;
  openReadStream(entry: YauzlEntry, callback: (err: Error | null, stream: Readable) => void): void;
}

/** Opens a zip through a random-access reader (yauzl's RandomAccessReader); `options` as yauzl takes them. */
export function openFromReader(reader: unknown, size: number, options: object): Promise<YauzlZip> {
  return new Promise<YauzlZip>((resolve, reject) =>
    yauzl().fromRandomAccessReader(reader as never, size, options, (err, opened) => (err ? reject(err) : resolve(opened as unknown as YauzlZip))),
  );
}

/** Loaded on first use: the runtime's import cost stays small for handlers that never touch artifacts. */
function yauzl(): typeof import('yauzl') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('yauzl');
}

interface RawEntry {
  readonly generalPurposeBitFlag: number;
  readonly fileNameRaw: Buffer;
  readonly extraFields: ReadonlyArray<{ id: number; data: Buffer }>;
}

/** The entry's name as text; backslashes are kept here and treated as separators by safeEntryPath. */
export function decodeFileName(entry: YauzlEntry): string {
  const raw = entry as unknown as RawEntry;
  const low = yauzl() as unknown as { getFileNameLowLevel(flag: number, name: Buffer, extra: RawEntry['extraFields'], strict: boolean): string };
  return low.getFileNameLowLevel(raw.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, true);
}

/**
 * Drops what yauzl keeps per entry but extraction never needs again (raw name, extra fields, comment: several Buffer
 * objects each), so that a listing of many thousands of entries costs little memory. The zip64 sizes are already applied.
 */
export function releaseRawFields(entry: YauzlEntry): void {
  const mutable = entry as unknown as Record<string, unknown>;
  mutable.extraFields = [];
  for (const field of ['fileNameRaw', 'extraFieldRaw', 'fileCommentRaw', 'fileComment', 'comment']) mutable[field] = undefined;
}

/** The entry's name as stored, before decoding (yauzl keeps it with `decodeStrings: false`). */
export function rawFileName(entry: YauzlEntry): Buffer {
  return (entry as unknown as RawEntry).fileNameRaw;
}

interface LocalHeaderReader {
  readLocalFileHeader(entry: YauzlEntry, options: { minimal: true }, callback: (err: Error | null, header: { fileDataStart: number }) => void): void;
}

/** Where an entry's data starts in the zip: yauzl reads its local header (and checks the data is within the file). */
export function localDataStart(zip: YauzlZip, entry: YauzlEntry): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    (zip as unknown as LocalHeaderReader).readLocalFileHeader(entry, { minimal: true }, (err, header) =>
      err ? reject(err) : resolve(header.fileDataStart),
    ),
  );
}

/** The stored (still compressed) bytes of an entry, as a stream (`decompress: false` is missing from yauzl's types). */
export function openStoredStream(zip: YauzlZip, entry: YauzlEntry): Promise<Readable> {
  return new Promise<Readable>((resolve, reject) =>
    (zip as unknown as ZipFile).openReadStream(entry as never, { decompress: false } as never, (err, stream) =>
      err ? reject(err) : resolve(stream),
    ),
  );
}

/** yauzl keeps its reference to the reader when it refuses a zip: releasing it closes the file. */
export function releaseReader(reader: unknown): void {
  (reader as unknown as { unref(): void }).unref();
}
