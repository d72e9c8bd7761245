/* eslint-disable no-bitwise -- zip entries carry Unix file modes in bit fields */
/**
 * Zipping input folders and unzipping output artifacts for local job runs: streamed (yazl / the runtime's central
 * directory reader), no whole-file buffers. Entry paths are checked with the runtime's zip-slip rules.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough, Transform, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import * as zlib from 'zlib';
import * as yazl from 'yazl';
import { CentralDirectory, CentralEntry, decodeFileName, fileZipReader, openCentralDirectory, releaseRawFields } from '../../runtime/zip/central-directory';
import { safeEntryPath } from '../../runtime/zip/safety';

/** Zips the contents of `dir` (not the folder itself) into `outFile`, keeping file modes and symlinks. */
export async function zipDirectory(dir: string, outFile: string): Promise<number> {
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, fs.createWriteStream(outFile));
  let entries = 0;
  for (const relative of await listTree(dir)) {
    const full = path.join(dir, relative);
    const stat = await fs.promises.lstat(full);
    const name = relative.split(path.sep).join('/');
    if (stat.isSymbolicLink()) {
      // A symlink entry: the target as content, S_IFLNK in the mode (what `zip -y` and CodeBuild produce).
      zip.addBuffer(Buffer.from(await fs.promises.readlink(full)), name, { mode: stat.mode, mtime: stat.mtime });
    } else if (stat.isDirectory()) {
      zip.addEmptyDirectory(name, { mode: stat.mode, mtime: stat.mtime });
    } else if (stat.isFile()) {
      zip.addFile(full, name, { mode: stat.mode, mtime: stat.mtime });
    } else {
      continue;
    }
    entries++;
  }
  zip.end();
  await written;
  return entries;
}

/** Every path under `dir`, relative, folders before their contents, in a stable order. */
async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = (await fs.promises.readdir(path.join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const relative = path.join(prefix, entry.name);
    out.push(relative);
    if (entry.isDirectory()) out.push(...(await listTree(dir, relative)));
  }
  return out;
}

/** Extracts `zipFile` into `destDir` (created), keeping the executable bit; refuses entries that escape it. */
export async function extractZip(zipFile: string, destDir: string, artifactName: string): Promise<number> {
  await fs.promises.mkdir(destDir, { recursive: true });
  const { reader, size } = await fileZipReader(zipFile, 64 * 1024);
  const zip = await openCentralDirectory(reader, size);
  let files = 0;
  try {
    for (let entry = await zip.readEntry(); entry !== undefined; entry = await zip.readEntry()) {
      entry.fileName = decodeFileName(entry);
      releaseRawFields(entry);
      if (await handleEntry(zip, entry, destDir, artifactName)) files++;
    }
  } finally {
    zip.close();
  }
  return files;
}

async function handleEntry(zip: CentralDirectory, entry: CentralEntry, destDir: string, artifactName: string): Promise<boolean> {
  const relative = safeEntryPath(entry.fileName, artifactName);
  const target = path.join(destDir, relative);
  const mode = (entry.externalFileAttributes >>> 16) & 0o177777;
  if (entry.fileName.replace(/\\/g, '/').endsWith('/')) {
    await fs.promises.mkdir(target, { recursive: true });
    return false;
  }
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  if (entry.isEncrypted() || (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)) {
    throw new Error(`Artifact ${artifactName}: entry ${entry.fileName} is encrypted or uses compression method ${entry.compressionMethod}; only stored and deflated entries are read`);
  }
  const stored = await zip.storedStream(entry);
  const decoded = entry.compressionMethod === 8 ? zlib.createInflateRaw() : new PassThrough();
  const checked = checkedContent(entry, artifactName);
  if ((mode & 0o170000) === 0o120000) {
    // Output artifacts come from the handler under test; their symlinks are recreated as they are.
    const chunks: Buffer[] = [];
    const collect = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        chunks.push(chunk);
        callback();
      },
    });
    await pipeline(stored, decoded, checked, collect);
    await fs.promises.symlink(Buffer.concat(chunks).toString('utf8'), target);
    return true;
  }
  await pipeline(stored, decoded, checked, fs.createWriteStream(target, { mode: mode & 0o111 ? 0o755 : 0o644 }));
  return true;
}

/** Passes an entry's bytes on, failing when they are more or fewer than its declared size (a damaged output artifact). */
function checkedContent(entry: CentralEntry, artifactName: string): Transform {
  let size = 0;
  const damaged = () => new Error(`Artifact ${artifactName}: entry ${entry.fileName} does not inflate to its declared ${entry.uncompressedSize} bytes`);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback(size > entry.uncompressedSize ? damaged() : null, chunk);
    },
    flush(callback) {
      callback(size !== entry.uncompressedSize ? damaged() : null);
    },
  });
}
