/* eslint-disable no-bitwise -- zip entries carry Unix file modes in bit fields */
/**
 * Zipping input folders and unzipping output artifacts for local job runs: streamed (yazl / yauzl), no whole-file
 * buffers. Entry paths are checked with the runtime's zip-slip rules.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import * as yauzl from 'yauzl';
import * as yazl from 'yazl';
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

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: true, strictFileNames: false, decodeStrings: true }, (err, zip) =>
      err ? reject(err) : resolve(zip!),
    ),
  );
}

/** Extracts `zipFile` into `destDir` (created), keeping the executable bit; refuses entries that escape it. */
export async function extractZip(zipFile: string, destDir: string, artifactName: string): Promise<number> {
  await fs.promises.mkdir(destDir, { recursive: true });
  const zip = await openZip(zipFile);
  let files = 0;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: unknown) => {
      zip.close();
      reject(err);
    };
    zip.on('error', fail);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      handleEntry(zip, entry, destDir, artifactName)
        .then((isFile) => {
          if (isFile) files++;
          zip.readEntry();
        })
        .catch(fail);
    });
    zip.readEntry();
  });
  return files;
}

async function handleEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, destDir: string, artifactName: string): Promise<boolean> {
  const relative = safeEntryPath(entry.fileName, artifactName);
  const target = path.join(destDir, relative);
  const mode = (entry.externalFileAttributes >>> 16) & 0o177777;
  if (entry.fileName.endsWith('/')) {
    await fs.promises.mkdir(target, { recursive: true });
    return false;
  }
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s!))),
  );
  if ((mode & 0o170000) === 0o120000) {
    // Output artifacts come from the handler under test; their symlinks are recreated as they are.
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    await fs.promises.symlink(Buffer.concat(chunks).toString('utf8'), target);
    return true;
  }
  await pipeline(stream, fs.createWriteStream(target, { mode: mode & 0o111 ? 0o755 : 0o644 }));
  return true;
}
