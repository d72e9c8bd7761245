/* eslint-disable no-bitwise -- zip headers pack UNIX modes and host ids into bit fields */
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
import { pipeline as streamPipeline, Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import * as zlib from 'zlib';
import type { Entry, RandomAccessReader, ZipFile } from 'yauzl';
import { abortReason } from './abort';
import { blockCachedReader, isTransportError, markTransportError, RangeSource, ZipByteReader } from './random-access';
import {
  ArtifactSafetyError,
  checkDeclaredEntry,
  checkDeclaredTotals,
  checkEntryCount,
  checkEntryNameLength,
  checkSymlinkTarget,
  ExtractionLimits,
  insideRoot,
  isInside,
  safeEntryPath,
  shortName,
  tooLarge,
} from './zip-safety';
import { ENTRY_PATH_MAX_BYTES, READ_FILE_DEFAULT_MAX_BYTES } from '../shared/limits';

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
/** Read and write chunks for large entries and cached blocks of the central directory (Node's 16-64 KiB default costs more CPU; larger ones more memory). */
const BIG_CHUNK_BYTES = 256 * 1024;
const INFLATE_CHUNK_BYTES = 256 * 1024;
/** Large entries extracted at the same time (libuv's thread pool has 4 threads for file system calls and zlib). */
const EXTRACT_CONCURRENCY = 2;
/** Synchronous extraction of small entries hands the event loop back after about this much work. */
const SYNC_BYTES_BETWEEN_YIELDS = 4 * 1024 * 1024;
/** A symlink entry's content is its target path; PATH_MAX is 4096 on Linux. */
const SYMLINK_TARGET_MAX_BYTES = ENTRY_PATH_MAX_BYTES;
/** Listing and planning hand the event loop back every this many entries, so that the deadline watchdog can act. */
const ENTRIES_BETWEEN_YIELDS = 2000;
/** Linux follows at most 40 links while resolving one path (ELOOP beyond). */
const MAX_LINK_HOPS = 40;
/** Opens a file for writing without following a link at its path (a link is replaced, never written through). */
const WRITE_NO_FOLLOW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;

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
 * Opens a zip: the zip reader reads its end-of-central-directory record (and the ZIP64 one when present), nothing else yet.
 * With `limits`, a zip whose end record declares more than `maxEntries` entries is refused right there, before a
 * single entry is listed: a 65,537-entry zip costs one small read, not the listing of 65,537 entries. (The reader lists no
 * more entries than the end record declares, so a record that understates the count cannot smuggle more in.)
 */
export async function openZip(source: ZipSource, artifact: string, limits?: Pick<ExtractionLimits, 'maxEntries'>): Promise<ZipArchive> {
  return openYauzlZip(source, artifact, limits);
}

/** Lists every entry of the central directory (reads no file data). */
export async function listEntries(zip: ZipArchive, artifact: string, signal?: AbortSignal): Promise<Array<{ entry: ZipEntry; info: ArtifactEntry }>> {
  return listYauzlEntries(zip as ZipFile, artifact, signal);
}

async function openYauzlZip(source: ZipSource, artifact: string, limits?: Pick<ExtractionLimits, 'maxEntries'>): Promise<ZipFile> {
  // decodeStrings off: yauzl would refuse unsafe names itself, with terse messages; we decode the names (CP437 or
  // UTF-8, Info-ZIP Unicode Path) with its own getFileNameLowLevel and check them in zip-safety.ts.
  const options = { lazyEntries: true, autoClose: false, validateEntrySizes: true, decodeStrings: false, strictFileNames: false };
  const { reader, size } = 'file' in source ? await fileReader(source.file) : { reader: source.reader as RandomAccessReader, size: source.size };
  let zip: ZipFile;
  try {
    zip = await new Promise<ZipFile>((resolve, reject) =>
      yauzl().fromRandomAccessReader(reader, size, options, (err, opened) => (err ? reject(err) : resolve(opened))),
    );
  } catch (error) {
    // yauzl keeps its reference to the reader when it refuses the zip: release it (closes the file).
    (reader as unknown as { unref(): void }).unref();
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

/** A local zip read through cached blocks (the central directory in a few reads) and large stream chunks. */
async function fileReader(file: string): Promise<{ reader: RandomAccessReader; size: number }> {
  const handle = await fs.promises.open(file, 'r');
  const { size } = await handle.stat();
  const source: RangeSource = {
    size,
    readRange: async (start, end) => {
      const buffer = Buffer.allocUnsafe(end - start);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      return buffer.subarray(0, bytesRead);
    },
    streamRange: (start, end) => fs.createReadStream(file, { start, end: end - 1, highWaterMark: BIG_CHUNK_BYTES }),
    close: () => handle.close(),
  };
  return { reader: blockCachedReader(source, { blockBytes: BIG_CHUNK_BYTES, cachedBlocks: 4 }) as RandomAccessReader, size };
}

/**
 * The entries of the central directory. Each name is bounded (ENTRY_PATH_MAX_BYTES) before anything else is done with
 * it; every few thousand entries the event loop gets a turn (yauzl's reads of cached blocks resolve as microtasks,
 * which would otherwise starve timers), and the listing stops once `signal` fires.
 */
async function listYauzlEntries(zip: ZipFile, artifact: string, signal?: AbortSignal): Promise<Array<{ entry: Entry; info: ArtifactEntry }>> {
  const result: Array<{ entry: Entry; info: ArtifactEntry }> = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: Entry) => {
        try {
          if ((entry as unknown as RawEntry).fileNameRaw.length > ENTRY_PATH_MAX_BYTES) {
            checkEntryNameLength((entry as unknown as RawEntry).fileNameRaw.toString('latin1'), artifact);
          }
          entry.fileName = decodeFileName(entry);
          checkEntryNameLength(entry.fileName, artifact);
          releaseRawFields(entry);
          result.push({ entry, info: describeEntry(entry) });
        } catch (error) {
          reject(error);
          return;
        }
        if (result.length % ENTRIES_BETWEEN_YIELDS !== 0) {
          zip.readEntry();
          return;
        }
        setImmediate(() => {
          if (signal?.aborted) reject(markTransportError(abortReason(signal)));
          else zip.readEntry();
        });
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
export async function extractZip(
  source: ZipSource,
  root: string,
  artifact: string,
  limits: ExtractionLimits,
  zipBytes: number,
  options: { readonly signal?: AbortSignal } = {},
): Promise<ExtractSummary> {
  const { signal } = options;
  stopIfAborted(signal);
  const zip = await openYauzlZip(source, artifact, limits);
  const data = 'file' in source ? await fileEntryData(zip, source.file, artifact) : yauzlEntryData(zip, artifact);
  try {
    const entries = await listYauzlEntries(zip, artifact, signal);
    stopIfAborted(signal);
    const plan = await planExtraction(entries, artifact, limits, zipBytes, signal);
    await fs.promises.mkdir(root, { recursive: true });
    // Everything below is made from the real path, one component at a time (see FolderMaker).
    const realRoot = await fs.promises.realpath(root);
    const planned = plan.map((p) => ({ ...p, target: insideRoot(realRoot, p.relative, artifact, p.entry.fileName) }));
    const folders = new FolderMaker(realRoot, artifact);
    const budget = { remaining: limits.maxTotalBytes };
    let bytes = 0;
    // Folders first (they may carry modes).
    for (const item of planned.filter((p) => p.info.kind === 'directory')) {
      await folders.ensure(item.target, item.relative);
      if (item.info.mode !== undefined) await fs.promises.chmod(item.target, item.info.mode | 0o700);
    }
    const files = planned.filter((p) => p.info.kind === 'file');
    const small = new Set(data.sync !== undefined ? files.filter((p) => isPlainSmallEntry(p.entry)) : []);
    if (data.sync !== undefined && small.size > 0) {
      try {
        bytes += await writeSmallEntriesSync(data.sync, [...small], folders, budget, limits, artifact, signal);
      } catch (error) {
        throw asZipError(error, artifact);
      }
    }
    // Large entries stream, a few at a time (reading, inflating and writing overlap on the thread pool).
    await forEachConcurrently(
      small.size > 0 ? files.filter((p) => !small.has(p)) : files,
      EXTRACT_CONCURRENCY,
      async (item) => {
        stopIfAborted(signal);
        await folders.ensure(path.dirname(item.target), item.relative);
        const written = await writeEntry(data, item, budget, limits, artifact);
        bytes += written;
      },
    );
    const links = planned.filter((p) => p.info.kind === 'symlink');
    await makeLinks(zip, links, realRoot, folders, artifact, signal);
    const directories = planned.filter((p) => p.info.kind === 'directory').length;
    return { files: planned.length - directories - links.length, directories, symlinks: links.length, bytes };
  } catch (error) {
    throw asZipError(error, artifact);
  } finally {
    await data.close();
    zip.close();
  }
}

/**
 * Creates the archive's links, after every file (so no entry of the archive is written through one). Each target must
 * pass checkSymlinkTarget (inside, `..` only first) and lead inside the folder when resolved against what is on disk
 * (links already in the folder, left by an earlier artifact or by the handler, are followed as the kernel would). When
 * one is refused, the links made so far are removed: a refused archive leaves no link behind.
 */
async function makeLinks(
  zip: ZipFile,
  links: readonly PlannedEntry[],
  realRoot: string,
  folders: FolderMaker,
  artifact: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const made: string[] = [];
  try {
    for (const link of links) {
      stopIfAborted(signal);
      const target = (await readEntryBuffer(zip, link.entry, SYMLINK_TARGET_MAX_BYTES, artifact)).toString('utf8');
      checkSymlinkTarget(realRoot, link.relative, target, artifact);
      await folders.ensure(path.dirname(link.target), link.relative);
      await replaceOnlyALink(link, artifact);
      if (!(await leadsInside(realRoot, path.dirname(link.target), target))) {
        throw new ArtifactSafetyError(
          'unsafe-symlink',
          `Artifact ${artifact}: symlink ${shortName(link.relative)} -> ${shortName(target)} resolves outside the folder through links already in it; ` +
            'refusing to extract',
          link.relative,
        );
      }
      await fs.promises.symlink(target, link.target);
      made.push(link.target);
    }
  } catch (error) {
    await Promise.all(made.map((file) => fs.promises.rm(file, { force: true })));
    throw error;
  }
}

/**
 * Whether a link in `linkDir` (a real folder) with this target leads inside `realRoot`, resolved as the kernel does,
 * component by component against the disk: a link met on the way is followed (its own target, from its own folder),
 * `..` goes to the real parent. Where a component does not exist (yet), what remains must be names only: it is
 * created later, by name, and a `..` after it would be resolved from wherever those names come to lead.
 */
async function leadsInside(realRoot: string, linkDir: string, target: string): Promise<boolean> {
  let current = linkDir;
  const pending = target.split('/').reverse(); // a stack: the next component last
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    const stats = await fs.promises.lstat(next).catch(() => undefined);
    if (stats?.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) return true; // the kernel gives up (ELOOP): nothing is reached through it
      const inner = await fs.promises.readlink(next);
      if (inner.startsWith('/')) current = '/';
      pending.push(...inner.split('/').reverse());
      continue;
    }
    if (stats?.isDirectory()) {
      current = next;
      continue;
    }
    // Missing, or a file (ENOTDIR for anything below it, until it is replaced).
    return !pending.includes('..') && isInside(realRoot, next);
  }
  return isInside(realRoot, current);
}

/**
 * Makes folders under the (real) root one component at a time, and never through anything but a real folder: a link
 * already in the folder (left by an earlier artifact extracted there, or by the handler) is not followed, so nothing
 * is written outside the folder whatever it already holds. Each folder is checked once per extraction.
 */
class FolderMaker {
  private readonly pending = new Map<string, Promise<void>>();
  private readonly done = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly artifact: string,
  ) {
    this.done.add(root);
  }

  async ensure(dir: string, entry: string): Promise<void> {
    if (this.done.has(dir)) return;
    let pending = this.pending.get(dir);
    if (pending === undefined) {
      const parent = path.dirname(dir);
      if (parent === dir) throw new Error(`${dir} is not inside ${this.root}`); // insideRoot made every target
      pending = this.ensure(parent, entry).then(() => this.makeOne(dir, entry));
      this.pending.set(dir, pending);
    }
    await pending;
    this.done.add(dir);
  }

  ensureSync(dir: string, entry: string): void {
    const missing: string[] = [];
    for (let at = dir; !this.done.has(at); at = path.dirname(at)) {
      if (path.dirname(at) === at) throw new Error(`${dir} is not inside ${this.root}`);
      missing.push(at);
    }
    for (const at of missing.reverse()) {
      try {
        fs.mkdirSync(at);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        this.refuseUnlessFolder(fs.lstatSync(at), at, entry);
      }
      this.done.add(at);
    }
  }

  private async makeOne(dir: string, entry: string): Promise<void> {
    try {
      await fs.promises.mkdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      this.refuseUnlessFolder(await fs.promises.lstat(dir), dir, entry);
    }
  }

  private refuseUnlessFolder(stats: fs.Stats, dir: string, entry: string): void {
    if (stats.isDirectory()) return;
    const what = stats.isSymbolicLink() ? 'a symlink' : 'a file';
    throw new ArtifactSafetyError(
      stats.isSymbolicLink() ? 'unsafe-symlink' : 'unsafe-path',
      `Artifact ${this.artifact}: entry ${shortName(entry)} lies inside ${shortName(path.relative(this.root, dir))}, which is ${what} in the folder already; ` +
        'refusing to extract (nothing is written through a link)',
      entry,
    );
  }
}

/**
 * Opens an entry's file for writing. A link at its path (left by an earlier artifact or the handler) is replaced by
 * the file, never written through (O_NOFOLLOW); a folder at its path is refused as unsafe.
 */
async function openForWriting(item: PlannedEntry, mode: number | undefined, artifact: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(item.target, WRITE_NO_FOLLOW, mode ?? 0o666);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      await fs.promises.unlink(item.target);
      return fs.promises.open(item.target, WRITE_NO_FOLLOW | fs.constants.O_EXCL, mode ?? 0o666);
    }
    throw code === 'EISDIR' ? fileOverFolder(item, artifact) : error;
  }
}

function openForWritingSync(item: PlannedEntry, mode: number | undefined, artifact: string): number {
  try {
    return fs.openSync(item.target, WRITE_NO_FOLLOW, mode ?? 0o666);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      fs.unlinkSync(item.target);
      return fs.openSync(item.target, WRITE_NO_FOLLOW | fs.constants.O_EXCL, mode ?? 0o666);
    }
    throw code === 'EISDIR' ? fileOverFolder(item, artifact) : error;
  }
}

function fileOverFolder(item: PlannedEntry, artifact: string): ArtifactSafetyError {
  return new ArtifactSafetyError(
    'unsafe-path',
    `Artifact ${artifact}: entry ${shortName(item.relative)} is a file, but the folder already has a folder of that name; refusing to extract`,
    item.relative,
  );
}

/**
 * Reads one entry into memory, by its path in the zip ('/' or '\' separators). At most `maxBytes`: the declared size
 * is checked before a byte is read, and the bytes as they inflate (a header can lie).
 */
export async function readZipEntry(
  source: ZipSource,
  entryPath: string,
  artifact: string,
  limits: ExtractionLimits,
  maxBytes: number = READ_FILE_DEFAULT_MAX_BYTES,
): Promise<Buffer> {
  const zip = await openYauzlZip(source, artifact, limits);
  try {
    const { entry, info } = await findEntry(zip, entryPath, artifact);
    checkDeclaredEntry(entry, limits, artifact);
    const limit = Math.min(maxBytes, limits.maxTotalBytes, MAX_BUFFER_BYTES);
    const tooBig = () =>
      new ArtifactSafetyError(
        'too-large',
        `Artifact ${artifact}: entry ${shortName(info.path)} is larger than ${limit} bytes, the most readFile reads into memory ` +
          '(stream it with openFile(), or extract it with extractTo(); or raise maxBytes if the function has the memory)',
        info.path,
      );
    return await readEntryBuffer(zip, entry, limit, artifact, info.path, tooBig);
  } finally {
    zip.close();
  }
}

/** Streams one entry, by its path in the zip. The stream fails if the entry inflates beyond the limits, or fails its CRC-32. */
export async function openZipEntryStream(source: ZipSource, entryPath: string, artifact: string, limits: ExtractionLimits): Promise<Readable> {
  const zip = await openYauzlZip(source, artifact, limits);
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

/** An entry's path as looked up: '/' separators, no `.` or empty segments (`./config//app.json` is `config/app.json`). */
function lookupPath(name: string): string {
  return name
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

async function findEntry(zip: ZipFile, entryPath: string, artifact: string): Promise<{ entry: Entry; info: ArtifactEntry }> {
  const wanted = lookupPath(entryPath);
  const entries = await listYauzlEntries(zip, artifact);
  let found: { entry: Entry; info: ArtifactEntry } | undefined;
  for (const e of entries) if (e.info.kind !== 'directory' && lookupPath(e.info.path) === wanted) found = e;
  if (found === undefined) {
    const sample = entries.slice(0, 10).map((e) => shortName(e.info.path, 200, false));
    throw new ArtifactSafetyError(
      'corrupt',
      `Artifact ${artifact} has no file ${shortName(wanted)} (${entries.length} entries: ${sample.join(', ')}${entries.length > 10 ? ', ...' : ''})`,
      wanted,
    );
  }
  if (found.info.kind === 'symlink') {
    throw new ArtifactSafetyError('unsafe-symlink', `Artifact ${artifact}: ${shortName(wanted)} is a symlink; read its target instead`, wanted);
  }
  return found;
}

interface PlannedEntry {
  readonly entry: Entry;
  readonly info: ArtifactEntry;
  readonly relative: string;
  readonly target: string;
}

/**
 * Checks every entry on its name and declared sizes, and the archive on its totals and on paths that clash, before
 * anything is written. Linear in the total length of the names; hands the event loop back every few thousand entries.
 * A folder entry naming the folder itself (`./`, which some zip tools write) is skipped.
 */
async function planExtraction(
  entries: ReadonlyArray<{ entry: Entry; info: ArtifactEntry }>,
  artifact: string,
  limits: ExtractionLimits,
  zipBytes: number,
  signal: AbortSignal | undefined,
): Promise<Array<Omit<PlannedEntry, 'target'>>> {
  let uncompressedBytes = 0;
  const planned: Array<Omit<PlannedEntry, 'target'>> = [];
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && i % ENTRIES_BETWEEN_YIELDS === 0) {
      await new Promise((resolve) => setImmediate(resolve));
      stopIfAborted(signal);
    }
    const { entry, info } = entries[i];
    if (info.kind === 'directory' && namesTheFolderItself(entry.fileName)) continue;
    const relative = safeEntryPath(entry.fileName, artifact);
    checkDeclaredEntry(entry, limits, artifact);
    uncompressedBytes += entry.uncompressedSize;
    planned.push({ entry, info, relative });
  }
  checkDeclaredTotals({ entryCount: entries.length, uncompressedBytes, zipBytes }, limits, artifact);
  checkNoClashingPaths(planned, artifact);
  return planned;
}

/** `./`, `.`, `.//./`: a folder entry for the extraction folder itself. */
function namesTheFolderItself(name: string): boolean {
  const normalized = name.replace(/\\/g, '/');
  return !normalized.startsWith('/') && normalized.split('/').every((s) => s === '' || s === '.');
}

interface PathNode {
  kind?: ArtifactEntry['kind'];
  /** An entry below this path, for messages. */
  below?: string;
  children?: Map<string, PathNode>;
}

/**
 * Refuses paths that clash: `a` a file (or a symlink) and `a/b` in one archive (extracting `a/b` would fail on mkdir,
 * or with a link to a folder be written through the archive's own link); `d/` a folder and `d` a file; `x` a file and
 * a symlink. Two files of one name are not a clash (the last one wins, as with unzip). A tree of path segments keeps
 * this linear in the length of the names (comparing every ancestor's joined path is quadratic in the depth).
 */
function checkNoClashingPaths(planned: ReadonlyArray<Omit<PlannedEntry, 'target'>>, artifact: string): void {
  const top = new Map<string, PathNode>();
  const refuse = (entry: string, why: string) =>
    new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: entry ${shortName(entry)} ${why}; refusing to extract`, entry);
  for (const item of planned) {
    const segments = item.relative.split('/');
    let children = top;
    for (let depth = 0; depth < segments.length; depth++) {
      let node = children.get(segments[depth]);
      if (node === undefined) {
        node = {};
        children.set(segments[depth], node);
      }
      if (depth < segments.length - 1) {
        if (node.kind === 'file' || node.kind === 'symlink') {
          throw refuse(item.relative, `lies inside ${shortName(segments.slice(0, depth + 1).join('/'))}, which the archive makes a ${node.kind}`);
        }
        node.below ??= item.relative;
        node.children ??= new Map();
        children = node.children;
        continue;
      }
      const kind = item.info.kind;
      if (kind !== 'directory' && node.below !== undefined) {
        throw refuse(node.below, `lies inside ${shortName(item.relative)}, which the archive makes a ${kind}`);
      }
      if (node.kind !== undefined && node.kind !== kind) {
        throw refuse(item.relative, `is both a ${node.kind === 'directory' ? 'folder' : node.kind} and a ${kind === 'directory' ? 'folder' : kind} in the archive`);
      }
      node.kind = kind;
    }
  }
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

/**
 * Drops what yauzl keeps per entry but extraction never needs again (raw name, extra fields, comment: several Buffer
 * objects each), so that a listing of many thousands of entries costs little memory. The zip64 sizes are already applied.
 */
function releaseRawFields(entry: Entry): void {
  const mutable = entry as unknown as Record<string, unknown>;
  mutable.extraFields = [];
  for (const field of ['fileNameRaw', 'extraFieldRaw', 'fileCommentRaw', 'fileComment', 'comment']) mutable[field] = undefined;
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
  data: EntryData,
  item: PlannedEntry,
  budget: { remaining: number },
  limits: ExtractionLimits,
  artifact: string,
): Promise<number> {
  const { entry, info } = item;
  // Owner read/write always (so the job can clean up); setuid/setgid/sticky never.
  const fileMode = info.mode !== undefined ? (info.mode & 0o777) | 0o600 : undefined;
  let written: number;
  try {
    if (entry.uncompressedSize <= SMALL_FILE_BYTES) {
      // Small files in one write: a stream pipeline per file costs more than the file itself.
      const content = await inflateSmallEntry(data, entry, artifact);
      budget.remaining -= content.length;
      if (budget.remaining < 0) throw tooLarge(artifact, limits, entry.fileName);
      const handle = await openForWriting(item, fileMode, artifact);
      try {
        await handle.writeFile(content);
        if (fileMode !== undefined && (fileMode & 0o111) !== 0) await handle.chmod(fileMode); // past the umask
      } finally {
        await handle.close();
      }
      written = content.length;
    } else {
      const counter = byteLimit(budget, limits, artifact, entry.fileName);
      const content = await data.inflated(entry);
      let handle: fs.promises.FileHandle | undefined;
      try {
        handle = await openForWriting(item, fileMode, artifact);
        if (fileMode !== undefined && (fileMode & 0o111) !== 0) await handle.chmod(fileMode);
      } catch (error) {
        content.destroy();
        await handle?.close();
        throw error;
      }
      try {
        // The write stream closes the handle however the pipeline ends.
        await pipeline(content, counter, fs.createWriteStream('', { fd: handle, highWaterMark: BIG_CHUNK_BYTES }));
      } catch (error) {
        // A file cut short or with bad data is not left behind as if it were the artifact's.
        await fs.promises.rm(item.target, { force: true });
        throw error;
      }
      written = counter.bytes;
    }
  } catch (error) {
    throw asZipError(error, artifact);
  }
  return written;
}

/**
 * Most artifacts are thousands of small files: through the thread pool, each costs half a dozen hand-offs (open,
 * read, write, close, chmod) whose thread hand-offs dominate the time. Like unzip,
 * small entries are read, inflated and written synchronously, yielding to the event loop every few files so that
 * timers and sockets of the handler keep running.
 */
async function writeSmallEntriesSync(
  sync: SyncEntryData,
  items: readonly PlannedEntry[],
  folders: FolderMaker,
  budget: { remaining: number },
  limits: ExtractionLimits,
  artifact: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  let bytes = 0;
  let sinceYield = 0;
  for (const item of items) {
    const { entry, info } = item;
    folders.ensureSync(path.dirname(item.target), item.relative);
    const content = inflateSmall(sync.compressed(entry), entry, artifact);
    budget.remaining -= content.length;
    if (budget.remaining < 0) throw tooLarge(artifact, limits, entry.fileName);
    const fileMode = info.mode !== undefined ? (info.mode & 0o777) | 0o600 : undefined;
    const fd = openForWritingSync(item, fileMode, artifact);
    try {
      fs.writeFileSync(fd, content);
      if (fileMode !== undefined && (fileMode & 0o111) !== 0) fs.fchmodSync(fd, fileMode); // past the umask
    } finally {
      fs.closeSync(fd);
    }
    bytes += content.length;
    sinceYield += content.length + 16 * 1024; // a file's fixed cost counts like 16 KiB
    if (sinceYield >= SYNC_BYTES_BETWEEN_YIELDS) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
      stopIfAborted(signal);
    }
  }
  return bytes;
}

function isPlainSmallEntry(entry: Entry): boolean {
  return entry.uncompressedSize <= SMALL_FILE_BYTES && (entry.compressionMethod === 0 || entry.compressionMethod === 8) && !entry.isEncrypted();
}

interface SyncEntryData {
  /** The stored bytes of an entry, read synchronously; valid until the next call (a shared buffer). */
  compressed(entry: Entry): Buffer;
}

/** How entry data is read: through yauzl's streams, or straight from the zip file with large buffers. */
interface EntryData {
  /** Synchronous reads, when the zip is a local file. */
  readonly sync?: SyncEntryData;
  /** The stored (compressed) bytes of an entry, whole. */
  compressed(entry: Entry): Promise<Buffer>;
  /** The inflated bytes of an entry; the stream fails when they differ from the declared size. */
  inflated(entry: Entry): Promise<Readable>;
  close(): Promise<void>;
}

function yauzlEntryData(zip: ZipFile, artifact: string): EntryData {
  return {
    compressed: async (entry) => {
      const raw = await new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(entry, { decompress: false } as never, (err, stream) => (err ? reject(err) : resolve(stream))),
      );
      const chunks: Buffer[] = [];
      for await (const chunk of raw) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    inflated: (entry) => openEntryStream(zip, entry, artifact),
    close: async () => undefined,
  };
}

/**
 * Entry data read from the downloaded zip file directly, in 1 MiB chunks (yauzl's streams read 16 KiB at a time, which
 * dominates the CPU time of large artifacts). yauzl still locates the data (central directory, local header, bounds).
 */
async function fileEntryData(zip: ZipFile, file: string, artifact: string): Promise<EntryData> {
  const handle = await fs.promises.open(file, 'r');
  const dataStart = (entry: Entry) =>
    new Promise<number>((resolve, reject) =>
      (zip as unknown as LocalHeaderReader).readLocalFileHeader(entry, { minimal: true }, (err, header) =>
        err ? reject(err) : resolve(header.fileDataStart),
      ),
    );
  const { size: fileSize } = await handle.stat();
  // One scratch buffer for the compressed bytes of small entries: the caller inflates (or copies) them before the next
  // read, and thousands of short-lived buffers would grow the process (external memory is collected late).
  let scratch = Buffer.allocUnsafe(0);
  return {
    sync: {
      compressed: (entry) => {
        const start = dataStartSync(handle.fd, entry, fileSize);
        if (scratch.length < entry.compressedSize) scratch = Buffer.allocUnsafe(Math.max(entry.compressedSize, 64 * 1024));
        const buffer = scratch.subarray(0, entry.compressedSize);
        if (entry.compressedSize > 0 && fs.readSync(handle.fd, buffer, 0, buffer.length, start) !== buffer.length) {
          throw new Error(`unexpected end of the zip in entry ${shortName(entry.fileName)}`);
        }
        return buffer;
      },
    },
    compressed: async (entry) => {
      const start = await dataStart(entry);
      const buffer = Buffer.allocUnsafe(entry.compressedSize);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      if (bytesRead !== buffer.length) throw new Error(`unexpected end of the zip in entry ${shortName(entry.fileName)}`);
      return buffer;
    },
    inflated: async (entry) => {
      if (entry.isEncrypted() || (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)) return openEntryStream(zip, entry, artifact);
      const start = await dataStart(entry);
      const raw =
        entry.compressedSize === 0
          ? Readable.from([])
          : fs.createReadStream(file, { start, end: start + entry.compressedSize - 1, highWaterMark: BIG_CHUNK_BYTES });
      const checked = checkedContent(entry, artifact);
      const stages: NodeJS.ReadWriteStream[] =
        entry.compressionMethod === 8 ? [zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES }), checked] : [checked];
      // Errors of any stage end up on the last one, which the caller pipes and awaits.
      streamPipeline([raw, ...stages] as never, () => undefined);
      return checked;
    },
    close: () => handle.close(),
  };
}

/** Where an entry's data starts: after its local header (what yauzl's readLocalFileHeader computes, synchronously). */
function dataStartSync(fd: number, entry: Entry, fileSize: number): number {
  const header = Buffer.allocUnsafe(30);
  if (fs.readSync(fd, header, 0, 30, entry.relativeOffsetOfLocalHeader) !== 30) {
    throw new Error(`unexpected end of the zip at the header of ${shortName(entry.fileName)}`);
  }
  if (header.readUInt32LE(0) !== 0x04034b50) {
    throw new Error(`invalid local file header signature: 0x${header.readUInt32LE(0).toString(16)}`);
  }
  const start = entry.relativeOffsetOfLocalHeader + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + entry.compressedSize > fileSize) {
    throw new Error(`file data overflows file bounds: ${start} + ${entry.compressedSize} > ${fileSize}`);
  }
  return start;
}

interface LocalHeaderReader {
  readLocalFileHeader(entry: Entry, options: { minimal: true }, callback: (err: Error | null, header: { fileDataStart: number }) => void): void;
}

/**
 * Fails when an entry inflates to more or fewer bytes than its header declares (what yauzl's validateEntrySizes does),
 * or when its bytes do not match the CRC-32 of the central directory (which yauzl does not check; unzip does).
 */
function checkedContent(entry: Entry, artifact: string): Transform {
  let seen = 0;
  let crc = 0;
  const mismatch = (what: string) =>
    new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: entry ${shortName(entry.fileName)} ${what}`, entry.fileName);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > entry.uncompressedSize) {
        callback(mismatch(`inflates to more than the ${entry.uncompressedSize} bytes its header declares (too many bytes)`));
        return;
      }
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
    flush(callback) {
      if (seen < entry.uncompressedSize) callback(mismatch(`inflates to ${seen} bytes, not the ${entry.uncompressedSize} its header declares`));
      else if (crc >>> 0 !== entry.crc32 >>> 0) callback(mismatch(crcMismatch(crc, entry)));
      else callback();
    },
  });
}

/** Throws when `content` (an entry's whole bytes) does not match its CRC-32. */
function checkCrc(content: Buffer, entry: Entry, artifact: string): void {
  const crc = crc32(content);
  if (crc >>> 0 !== entry.crc32 >>> 0) {
    throw new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: entry ${shortName(entry.fileName)} ${crcMismatch(crc, entry)}`, entry.fileName);
  }
}

function crcMismatch(crc: number, entry: Entry): string {
  const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
  return `fails its CRC-32 check (the data gives ${hex(crc)}, the zip says ${hex(entry.crc32)}): the artifact is damaged`;
}

let crc32Function: ((data: Uint8Array, previous?: number) => number) | undefined;

/**
 * CRC-32 as zip computes it: zlib.crc32 (native, Node >= 20.15 and 22.2, so every Lambda Node.js runtime), else
 * buffer-crc32 (yazl's dependency, bundled with the runtime).
 */
function crc32(data: Uint8Array, previous = 0): number {
  if (crc32Function === undefined) {
    const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
    if (typeof native === 'function') {
      crc32Function = native;
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
      const bufferCrc32 = require('buffer-crc32') as { unsigned: (buf: Buffer, previous?: number) => number };
      crc32Function = (buf, prev) => bufferCrc32.unsigned(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), prev);
    }
  }
  return crc32Function(data, previous);
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

/** An entry's inflated bytes through yauzl, checked against its declared size and CRC-32. */
async function openEntryStream(zip: ZipFile, entry: Entry, artifact: string): Promise<Readable> {
  if (entry.isEncrypted()) {
    throw new ArtifactSafetyError('corrupt', `Artifact ${artifact}: entry ${shortName(entry.fileName)} is encrypted`, entry.fileName);
  }
  let raw: Readable;
  try {
    raw = await new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream))));
  } catch (error) {
    throw asZipError(error, artifact);
  }
  const checked = checkedContent(entry, artifact);
  // Errors of yauzl's stream end up on `checked`, which the caller reads.
  streamPipeline(raw, checked, () => undefined);
  return checked;
}

/**
 * Reads an entry into one buffer of its declared size, at most `maxBytes`: refused on the declared size before a byte
 * is read, and on the bytes as they come (a header that understates the size fails the size check of checkedContent).
 */
async function readEntryBuffer(
  zip: ZipFile,
  entry: Entry,
  maxBytes: number,
  artifact: string,
  name = entry.fileName,
  tooBig = () => new ArtifactSafetyError('too-large', `Artifact ${artifact}: entry ${shortName(name)} is larger than ${maxBytes} bytes`, name),
): Promise<Buffer> {
  if (entry.uncompressedSize > maxBytes) throw tooBig();
  const content = Buffer.allocUnsafe(entry.uncompressedSize);
  let total = 0;
  try {
    for await (const chunk of await openEntryStream(zip, entry, artifact)) {
      if (total + (chunk as Buffer).length > maxBytes) throw tooBig();
      total += (chunk as Buffer).copy(content, total);
    }
  } catch (error) {
    throw asZipError(error, artifact);
  }
  return content.subarray(0, total);
}

/**
 * A small entry read whole and inflated in one synchronous call: an async zlib stream per file costs more CPU than
 * inflating the file. The output is capped at the declared size,
 * so a lying header cannot make this inflate more.
 */
async function inflateSmallEntry(data: EntryData, entry: Entry, artifact: string): Promise<Buffer> {
  const method = entry.compressionMethod;
  if ((method !== 0 && method !== 8) || entry.isEncrypted()) {
    // yauzl reports what it cannot read (encryption, other methods)
    const chunks: Buffer[] = [];
    for await (const chunk of await data.inflated(entry)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  return inflateSmall(await data.compressed(entry), entry, artifact);
}

/** Inflates a whole small entry, the output capped at its declared size (a lying header cannot make it inflate more). */
function inflateSmall(compressed: Buffer, entry: Entry, artifact: string): Buffer {
  const corrupt = (why: string) =>
    new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: entry ${shortName(entry.fileName)} ${why}`, entry.fileName);
  let content: Buffer;
  if (entry.compressionMethod === 8) {
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
  checkCrc(content, entry, artifact);
  return content;
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
      `Artifact ${artifact}: symlink ${shortName(link.relative)} has the path of a file or folder; refusing to extract`,
      link.relative,
    );
  }
  await fs.promises.rm(link.target, { force: true });
}

/** An extraction stops between entries once the signal fires, with its reason (never called a corrupt zip). */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw markTransportError(abortReason(signal));
}

/** yauzl reports unsafe names and corrupt data as plain Errors; give them the artifact's name and a reason. */
function asZipError(error: unknown, artifact: string): Error {
  if (error instanceof ArtifactSafetyError) return error;
  if (isTransportError(error)) return error as Error; // S3, the network, an abort: not the zip's fault
  const message = error instanceof Error ? error.message : String(error);
  if (/^(absolute path|invalid relative path|invalid characters in fileName)/.test(message)) {
    return new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: unsafe entry name (${message}); refusing to extract`);
  }
  if ((error as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
    // A name within ENTRY_PATH_MAX_BYTES that is too long once joined to the folder's own path.
    return new ArtifactSafetyError('unsafe-path', `Artifact ${artifact}: an entry's path is too long for the file system (${shortName(message)}); refusing to extract`);
  }
  // File system and S3 errors are not the zip's fault: pass them on as they are.
  if (error instanceof Error && ((error as NodeJS.ErrnoException).code !== undefined || '$metadata' in error)) return error;
  return new ArtifactSafetyError('corrupt', `Artifact ${artifact} is not a valid zip: ${message}`);
}
