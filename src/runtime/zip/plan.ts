/**
 * The safety plan of an extraction: every entry's name, declared sizes and the archive's totals are checked, and
 * clashing paths refused, before anything is written.
 */
import type { CentralEntry as Entry } from './central-directory';
import { ArtifactEntry, ENTRIES_BETWEEN_YIELDS, stopIfAborted } from './open';
import { checkDeclaredEntry, checkDeclaredTotals, ExtractionLimits, safeEntryPath, shortName } from './safety';
import { ArtifactSafetyError } from '../errors';

export interface PlannedEntry {
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
export async function planExtraction(
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
