/**
 * Reading artifact zips with yauzl: safe extraction to a folder, and reading one entry.
 *
 * Why yauzl: it reads the central directory (the zip's real table of contents) instead of trusting local headers,
 * streams entry data with bounded memory, validates entry sizes against what is inflated, refuses `..`/absolute names
 * itself, supports zip64 and random access (so one file can be read from S3 with Range requests), has no dependencies
 * and has been maintained since 2014 (used by extract-zip, electron tooling, VS Code's vsce).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import * as zlib from 'zlib';
import type { Entry, RandomAccessReader, ZipFile } from 'yauzl';
import {
  ArtifactSafetyError,
  checkDeclaredEntry,
  checkDeclaredTotals,
  checkSymlinkTarget,
  ExtractionLimits,
  insideRoot,
  isInside,
  safeEntryPath,
  tooLarge,
} from './zip-safety';

/** Loaded on first use: the runtime's import cost stays small for handlers that never touch artifacts. */
function yauzl(): typeof import('yauzl') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('yauzl');
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
/** `versionMadeBy` high byte 3 = UNIX: only then do the external attributes hold a file mode. */
const MADE_BY_UNIX = 3;
/** Entries up to this size are inflated into memory and written at once. */
const SMALL_FILE_BYTES = 256 * 1024;
/** Entries extracted at the same time (libuv's thread pool has 4 threads for file system calls and zlib). */
const EXTRACT_CONCURRENCY = 8;
/** A symlink entry's content is its target path; PATH_MAX is 4096 on Linux. */
const SYMLINK_TARGET_MAX_BYTES = 4096;

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

type ZipSource = { readonly file: string } | { readonly reader: RandomAccessReader; readonly size: number };

export async function openZip(source: ZipSource, artifact: string): Promise<ZipFile> {
  // decodeStrings off: yauzl would refuse unsafe names itself, with terse messages; we decode the names (CP437 or
  // UTF-8, Info-ZIP Unicode Path) with its own getFileNameLowLevel and check them in zip-safety.ts.
  const options = { lazyEntries: true, autoClose: false, validateEntrySizes: true, decodeStrings: false, strictFileNames: false };
  try {
    return await new Promise<ZipFile>((resolve, reject) => {
      const done = (err: Error | null, zip?: ZipFile) => (err ? reject(err) : resolve(zip!));
      if ('file' in source) yauzl().open(source.file, options, done);
      else yauzl().fromRandomAccessReader(source.reader, source.size, options, done);
    });
  } catch (error) {
    throw asZipError(error, artifact);
  }
}

/** Lists every entry of the central directory (reads no file data). */
export async function listEntries(zip: ZipFile, artifact: string): Promise<Array<{ entry: Entry; info: ArtifactEntry }>> {
  const result: Array<{ entry: Entry; info: ArtifactEntry }> = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: Entry) => {
        entry.fileName = decodeFileName(entry);
        result.push({ entry, info: describeEntry(entry) });
        zip.readEntry();
      });
      zip.once('end', () => resolve());
      zip.once('error', reject);
      zip.readEntry();
    });
  } catch (error) {
    throw asZipError(error, artifact);
  }
  return result;
}

/**
 * Extracts a zip into `root` (created if needed), refusing anything unsafe before it writes it. Every entry is checked
 * on its declared sizes before the first byte is written; inflated bytes are counted too, since headers can lie.
 * Symlinks are created last, so no entry is ever written through a link from the archive.
 */
export async function extractZip(source: ZipSource, root: string, artifact: string, limits: ExtractionLimits, zipBytes: number): Promise<ExtractSummary> {
  const zip = await openZip(source, artifact);
  try {
    const entries = await listEntries(zip, artifact);
    const planned = planExtraction(entries, root, artifact, limits, zipBytes);
    await fs.promises.mkdir(root, { recursive: true });
    const budget = { remaining: limits.maxTotalBytes };
    const made = new Map<string, Promise<unknown>>();
    let bytes = 0;
    // Folders first (they may carry modes), then files a few at a time: most artifacts are many small files, where
    // per-file latency (open, inflate on the thread pool, close) dominates and overlaps well.
    for (const item of planned.filter((p) => p.info.kind === 'directory')) {
      await mkdirOnce(item.target, made);
      if (item.info.mode !== undefined) await fs.promises.chmod(item.target, item.info.mode | 0o700);
    }
    await forEachConcurrently(
      planned.filter((p) => p.info.kind === 'file'),
      EXTRACT_CONCURRENCY,
      async (item) => {
        await mkdirOnce(path.dirname(item.target), made);
        const written = await writeEntry(zip, item.entry, item.target, item.info.mode, budget, limits, artifact);
        bytes += written;
      },
    );
    const links = planned.filter((p) => p.info.kind === 'symlink');
    for (const link of links) {
      const target = (await readEntryBuffer(zip, link.entry, SYMLINK_TARGET_MAX_BYTES, artifact)).toString('utf8');
      checkSymlinkTarget(root, link.relative, target, artifact);
      await mkdirOnce(path.dirname(link.target), made);
      await replaceOnlyALink(link, artifact);
      await fs.promises.symlink(target, link.target);
    }
    await verifyLinksResolveInside(root, links, artifact);
    const directories = planned.filter((p) => p.info.kind === 'directory').length;
    return { files: planned.length - directories - links.length, directories, symlinks: links.length, bytes };
  } finally {
    zip.close();
  }
}

/** Reads one entry into memory, by its path in the zip ('/' or '\' separators). */
export async function readZipEntry(source: ZipSource, entryPath: string, artifact: string, limits: ExtractionLimits): Promise<Buffer> {
  const zip = await openZip(source, artifact);
  try {
    const { entry, info } = await findEntry(zip, entryPath, artifact);
    checkDeclaredEntry(entry, limits, artifact);
    return await readEntryBuffer(zip, entry, Math.min(limits.maxTotalBytes, MAX_BUFFER_BYTES), artifact, info.path);
  } finally {
    zip.close();
  }
}

/** Streams one entry, by its path in the zip. The stream fails if the entry inflates beyond the limits. */
export async function openZipEntryStream(source: ZipSource, entryPath: string, artifact: string, limits: ExtractionLimits): Promise<Readable> {
  const zip = await openZip(source, artifact);
  try {
    const { entry } = await findEntry(zip, entryPath, artifact);
    checkDeclaredEntry(entry, limits, artifact);
    const stream = await openEntryStream(zip, entry, artifact);
    const limited = stream.pipe(byteLimit({ remaining: limits.maxTotalBytes }, limits, artifact, entry.fileName));
    stream.on('error', (error) => limited.destroy(asZipError(error, artifact)));
    limited.once('close', () => zip.close());
    return limited;
  } catch (error) {
    zip.close();
    throw error;
  }
}

/** Node's Buffer limit is ~4 GiB on 64-bit; a single in-memory read far below that is already a mistake. */
const MAX_BUFFER_BYTES = 1024 ** 3;

async function findEntry(zip: ZipFile, entryPath: string, artifact: string): Promise<{ entry: Entry; info: ArtifactEntry }> {
  const wanted = entryPath.replace(/\\/g, '/').replace(/^\.?\/+/, '');
  const entries = await listEntries(zip, artifact);
  const found = entries.filter((e) => e.info.path === wanted && e.info.kind !== 'directory').pop();
  if (found === undefined) {
    const sample = entries.slice(0, 10).map((e) => e.info.path);
    throw new ArtifactSafetyError(
      'corrupt',
      `Artifact ${artifact} has no file ${JSON.stringify(wanted)} (${entries.length} entries: ${sample.join(', ')}${entries.length > 10 ? ', ...' : ''})`,
      wanted,
    );
  }
  if (found.info.kind === 'symlink') {
    throw new ArtifactSafetyError('unsafe-symlink', `Artifact ${artifact}: ${JSON.stringify(wanted)} is a symlink; read its target instead`, wanted);
  }
  return found;
}

interface PlannedEntry {
  readonly entry: Entry;
  readonly info: ArtifactEntry;
  readonly relative: string;
  readonly target: string;
}

function planExtraction(
  entries: ReadonlyArray<{ entry: Entry; info: ArtifactEntry }>,
  root: string,
  artifact: string,
  limits: ExtractionLimits,
  zipBytes: number,
): PlannedEntry[] {
  let uncompressedBytes = 0;
  const planned = entries.map(({ entry, info }) => {
    const relative = safeEntryPath(entry.fileName, artifact);
    const target = insideRoot(root, relative, artifact, entry.fileName);
    checkDeclaredEntry(entry, limits, artifact);
    uncompressedBytes += entry.uncompressedSize;
    return { entry, info, relative, target };
  });
  checkDeclaredTotals({ entryCount: entries.length, uncompressedBytes, zipBytes }, limits, artifact);
  return planned;
}

interface RawEntry {
  readonly generalPurposeBitFlag: number;
  readonly fileNameRaw: Buffer;
  readonly extraFields: ReadonlyArray<{ id: number; data: Buffer }>;
}

/** The entry's name as text; backslashes are kept here and treated as separators by safeEntryPath. */
function decodeFileName(entry: Entry): string {
  const raw = entry as unknown as RawEntry;
  const low = yauzl() as unknown as { getFileNameLowLevel(flag: number, name: Buffer, extra: RawEntry['extraFields'], strict: boolean): string };
  return low.getFileNameLowLevel(raw.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, true);
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

async function writeEntry(
  zip: ZipFile,
  entry: Entry,
  target: string,
  mode: number | undefined,
  budget: { remaining: number },
  limits: ExtractionLimits,
  artifact: string,
): Promise<number> {
  // Owner read/write always (so the job can clean up); setuid/setgid/sticky never.
  const fileMode = mode !== undefined ? (mode & 0o777) | 0o600 : undefined;
  const writeOptions = fileMode !== undefined ? { mode: fileMode } : {};
  let written: number;
  try {
    if (entry.uncompressedSize <= SMALL_FILE_BYTES) {
      // Small files in one write: a stream pipeline per file costs more than the file itself.
      const content = await inflateSmallEntry(zip, entry, artifact);
      budget.remaining -= content.length;
      if (budget.remaining < 0) throw tooLarge(artifact, limits, entry.fileName);
      await fs.promises.writeFile(target, content, writeOptions);
      written = content.length;
    } else {
      const counter = byteLimit(budget, limits, artifact, entry.fileName);
      await pipeline(await openEntryStream(zip, entry, artifact), counter, fs.createWriteStream(target, writeOptions));
      written = counter.bytes;
    }
  } catch (error) {
    throw asZipError(error, artifact);
  }
  if (fileMode !== undefined && (fileMode & 0o111) !== 0) {
    // The mode given at creation is masked by the umask; executable bits recorded in the zip must survive it.
    await fs.promises.chmod(target, fileMode);
  }
  return written;
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure stops new work and is thrown. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

type CountingTransform = Transform & { bytes: number };

/** Passes bytes through while the artifact's total stays within `maxTotalBytes`. */
function byteLimit(budget: { remaining: number }, limits: ExtractionLimits, artifact: string, entryName: string): CountingTransform {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      counter.bytes += chunk.length;
      budget.remaining -= chunk.length;
      if (budget.remaining < 0) {
        callback(tooLarge(artifact, limits, entryName));
        return;
      }
      callback(null, chunk);
    },
  }) as CountingTransform;
  counter.bytes = 0;
  return counter;
}

async function openEntryStream(zip: ZipFile, entry: Entry, artifact: string): Promise<Readable> {
  if (entry.isEncrypted()) {
    throw new ArtifactSafetyError('corrupt', `Artifact ${artifact}: entry ${JSON.stringify(entry.fileName)} is encrypted`, entry.fileName);
  }
  try {
    return await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
  } catch (error) {
    throw asZipError(error, artifact);
  }
}

async function readEntryBuffer(zip: ZipFile, entry: Entry, maxBytes: number, artifact: string, name = entry.fileName): Promise<Buffer> {
  if (entry.uncompressedSize > maxBytes) {
    throw new ArtifactSafetyError('too-large', `Artifact ${artifact}: entry ${JSON.stringify(name)} is larger than ${maxBytes} bytes`, name);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of await openEntryStream(zip, entry, artifact)) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) {
        throw new ArtifactSafetyError('too-large', `Artifact ${artifact}: entry ${JSON.stringify(name)} is larger than ${maxBytes} bytes`, name);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw asZipError(error, artifact);
  }
  return Buffer.concat(chunks);
}

/**
 * A small entry read whole and inflated in one synchronous call: an async zlib stream per file costs more CPU than
 * inflating the file (measured on 1,000 small files: about twice the CPU). The output is capped at the declared size,
 * so a lying header cannot make this inflate more.
 */
async function inflateSmallEntry(zip: ZipFile, entry: Entry, artifact: string): Promise<Buffer> {
  const method = entry.compressionMethod;
  if ((method !== 0 && method !== 8) || entry.isEncrypted()) {
    return readEntryBuffer(zip, entry, SMALL_FILE_BYTES, artifact); // yauzl reports what it cannot read
  }
  const corrupt = (why: string) =>
    new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: entry ${JSON.stringify(entry.fileName)} ${why}`, entry.fileName);
  const chunks: Buffer[] = [];
  const raw = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, { decompress: false } as never, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
  for await (const chunk of raw) chunks.push(chunk as Buffer);
  const compressed = Buffer.concat(chunks);
  let content: Buffer;
  if (method === 8) {
    try {
      content = zlib.inflateRawSync(compressed, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
    } catch (error) {
      throw corrupt((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'inflates to more than its declared size' : 'has invalid deflate data');
    }
  } else {
    content = compressed;
  }
  if (content.length !== entry.uncompressedSize) {
    throw corrupt(`inflates to ${content.length} bytes, not the ${entry.uncompressedSize} its header declares`);
  }
  return content;
}

async function mkdirOnce(dir: string, made: Map<string, Promise<unknown>>): Promise<void> {
  let pending = made.get(dir);
  if (pending === undefined) {
    pending = fs.promises.mkdir(dir, { recursive: true });
    made.set(dir, pending);
  }
  await pending;
}

/**
 * A link may replace an older link (re-extraction into the same folder), never a file or folder: an archive with both
 * `docs` (a link) and `docs/readme.txt` would otherwise have its files deleted, or written through the link.
 */
async function replaceOnlyALink(link: PlannedEntry, artifact: string): Promise<void> {
  const existing = await fs.promises.lstat(link.target).catch(() => undefined);
  if (existing === undefined) return;
  if (!existing.isSymbolicLink()) {
    throw new ArtifactSafetyError(
      'unsafe-symlink',
      `Artifact ${artifact}: symlink ${JSON.stringify(link.relative)} has the path of a file or folder; refusing to extract`,
      link.relative,
    );
  }
  await fs.promises.rm(link.target, { force: true });
}

/** A chain of links can escape where every single target looks inside: check where each one really leads. */
async function verifyLinksResolveInside(root: string, links: readonly PlannedEntry[], artifact: string): Promise<void> {
  const realRoot = await fs.promises.realpath(root);
  for (const link of links) {
    let real: string;
    try {
      real = await fs.promises.realpath(link.target);
    } catch {
      continue; // dangling inside the folder: harmless
    }
    if (!isInside(realRoot, real)) {
      await Promise.all(links.map((l) => fs.promises.rm(l.target, { force: true })));
      throw new ArtifactSafetyError(
        'unsafe-symlink',
        `Artifact ${artifact}: symlink ${JSON.stringify(link.relative)} resolves outside the folder through other links; refusing to extract`,
        link.relative,
      );
    }
  }
}

/** yauzl reports unsafe names and corrupt data as plain Errors; give them the artifact's name and a reason. */
function asZipError(error: unknown, artifact: string): Error {
  if (error instanceof ArtifactSafetyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^(absolute path|invalid relative path|invalid characters in fileName)/.test(message)) {
    return new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: unsafe entry name (${message}); refusing to extract`);
  }
  // File system and S3 errors are not the zip's fault: pass them on as they are.
  if (error instanceof Error && ((error as NodeJS.ErrnoException).code !== undefined || '$metadata' in error)) return error;
  return new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: ${message}`);
}
