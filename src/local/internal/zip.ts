/* eslint-disable no-bitwise -- zip entries carry Unix file modes in bit fields */
/**
 * Zipping input folders and unzipping output artifacts for local job runs: streamed (the runtime's zip writer / yauzl),
 * no whole-file buffers. Entry paths are checked with the runtime's zip-slip rules.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import * as yauzl from 'yauzl';
import { safeEntryPath } from '../../runtime/zip/safety';
import { zipDirectory as zipFolder } from '../../runtime/zip/write';

/**
 * Zips the contents of `dir` (not the folder itself) into `outFile` with the runtime's zip writer, as `uploadDirectory`
 * does: modes, symlinks and empty folders kept.
 */
export async function zipDirectory(dir: string, outFile: string): Promise<void> {
  await pipeline(zipFolder(dir), fs.createWriteStream(outFile));
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
