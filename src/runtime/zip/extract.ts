/* eslint-disable no-bitwise -- zip headers pack UNIX modes and host ids into bit fields */
/**
 * Safe extraction of an artifact zip into a folder: folders, then files (small ones at once, large ones streamed a
 * few at a time), then links.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import type { CentralEntry as Entry } from './central-directory';
import { byteLimit, EntryData, fileEntryData, inflateSmall, inflateSmallEntry, SyncEntryData, readerEntryData } from './entry-data';
import { FolderMaker, openForWriting, openForWritingSync } from './folders';
import { makeLinks } from './links';
import { asZipError, BIG_CHUNK_BYTES, ExtractSummary, listCentralEntries, openCentralDirectory, stopIfAborted, ZipSource } from './open';
import { planExtraction, PlannedEntry } from './plan';
import { ExtractionLimits, insideRoot, tooLarge } from './safety';

/** Entries up to this size are inflated into memory and written at once. */
const SMALL_FILE_BYTES = 256 * 1024;
/** Large entries extracted at the same time (libuv's thread pool has 4 threads for file system calls and zlib). */
const EXTRACT_CONCURRENCY = 2;
/** Synchronous extraction of small entries hands the event loop back after about this much work. */
const SYNC_BYTES_BETWEEN_YIELDS = 4 * 1024 * 1024;
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
  const zip = await openCentralDirectory(source, artifact, limits);
  const data = 'file' in source ? await fileEntryData(zip, source.file, artifact) : readerEntryData(zip, artifact);
  try {
    const entries = await listCentralEntries(zip, artifact, signal);
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
