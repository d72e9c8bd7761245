/**
 * Reading one entry of an artifact zip (readFile / openFile): found by its path, checked like an extracted one.
 */
import { Readable } from 'stream';
import type { CentralDirectory as ZipFile, CentralEntry as Entry } from './central-directory';
import { byteLimit, openEntryStream, readEntryBuffer } from './entry-data';
import { ArtifactEntry, asZipError, listCentralEntries, openCentralDirectory, ZipSource } from './open';
import { checkDeclaredEntry, ExtractionLimits, shortName } from './safety';
import { READ_FILE_DEFAULT_MAX_BYTES } from '../../shared/limits';
import { ArtifactSafetyError } from '../errors';

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
  const zip = await openCentralDirectory(source, artifact, limits);
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
  const zip = await openCentralDirectory(source, artifact, limits);
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
  const entries = await listCentralEntries(zip, artifact);
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
