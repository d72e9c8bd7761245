/**
 * The links of an extracted archive: made last, and only when they lead inside the folder as the kernel resolves them.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { CentralDirectory as ZipFile } from './central-directory';
import { readEntryBuffer } from './entry-data';
import { FolderMaker } from './folders';
import { stopIfAborted } from './open';
import { PlannedEntry } from './plan';
import { checkSymlinkTarget, isInside, shortName } from './safety';
import { ENTRY_PATH_MAX_BYTES } from '../../shared/limits';
import { ArtifactSafetyError } from '../errors';

/** A symlink entry's content is its target path; PATH_MAX is 4096 on Linux. */
const SYMLINK_TARGET_MAX_BYTES = ENTRY_PATH_MAX_BYTES;
/** Linux follows at most 40 links while resolving one path (ELOOP beyond). */
const MAX_LINK_HOPS = 40;
/**
 * Creates the archive's links, after every file (so no entry of the archive is written through one). Each target must
 * pass checkSymlinkTarget (inside, `..` only first) and lead inside the folder when resolved against what is on disk
 * (links already in the folder, left by an earlier artifact or by the handler, are followed as the kernel would). When
 * one is refused, the links made so far are removed: a refused archive leaves no link behind.
 */
export async function makeLinks(
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
