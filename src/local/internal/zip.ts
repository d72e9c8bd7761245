/**
 * Artifact zips of local job runs. Input folders are zipped with the runtime's own zip writer, as `uploadDirectory`
 * does (modes, symlinks and empty folders kept, as `zip -y` and CodeBuild do); output artifacts, which come from the
 * handler under test, are extracted with the runtime's own safe extraction, so that a link or path that escapes the
 * folder is refused locally exactly as the next action's jobHandler would refuse it on AWS.
 */
import * as fs from 'fs';
import { pipeline } from 'stream/promises';
import { DEFAULT_EXTRACTION_LIMITS, type ExtractSummary } from '../../runtime/index';
import { extractZip } from '../../runtime/zip/extract';
import { zipDirectory } from '../../runtime/zip/write';

/** Zips the contents of `dir` (not the folder itself) into `outFile`. */
export async function zipFolderToFile(dir: string, outFile: string): Promise<void> {
  await pipeline(zipDirectory(dir), fs.createWriteStream(outFile));
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
