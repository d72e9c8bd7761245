/**
 * Artifact zips of local job runs. Input folders are zipped here (streamed with yazl, keeping modes and symlinks as
 * `zip -y` and CodeBuild do); output artifacts, which come from the handler under test, are extracted with the
 * runtime's own safe extraction, so that a link or path that escapes the folder is refused locally exactly as the
 * next action's jobHandler would refuse it on AWS.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import * as yazl from 'yazl';
import { DEFAULT_EXTRACTION_LIMITS, type ExtractSummary } from '../../runtime/index';
import { extractZip } from '../../runtime/zip/extract';

/** Zips the contents of `dir` (not the folder itself) into `outFile`, keeping file modes and symlinks. */
export async function zipFolderToFile(dir: string, outFile: string): Promise<number> {
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

/**
 * Extracts an artifact zip into `destDir` (created) as the runtime's `InputArtifact.extractTo()` does, with its default
 * limits: entries and links that lead outside the folder, bombs and oversized archives are refused with an
 * ArtifactSafetyError before anything unsafe is written.
 */
export async function extractArtifactZip(zipFile: string, destDir: string, artifactName: string): Promise<ExtractSummary> {
  const { size } = await fs.promises.stat(zipFile);
  return extractZip({ file: zipFile }, destDir, artifactName, DEFAULT_EXTRACTION_LIMITS, size);
}
