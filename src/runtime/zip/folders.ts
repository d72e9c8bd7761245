/* eslint-disable no-bitwise -- zip headers pack UNIX modes and host ids into bit fields */
/**
 * Making folders and opening files under the extraction root without ever following a link already there.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PlannedEntry } from './plan';
import { shortName } from './safety';
import { ArtifactSafetyError } from '../errors';

/** Opens a file for writing without following a link at its path (a link is replaced, never written through). */
const WRITE_NO_FOLLOW = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;

/**
 * Makes folders under the (real) root one component at a time, and never through anything but a real folder: a link
 * already in the folder (left by an earlier artifact extracted there, or by the handler) is not followed, so nothing
 * is written outside the folder whatever it already holds. Each folder is checked once per extraction.
 */
export class FolderMaker {
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
export async function openForWriting(item: PlannedEntry, mode: number | undefined, artifact: string): Promise<fs.promises.FileHandle> {
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

export function openForWritingSync(item: PlannedEntry, mode: number | undefined, artifact: string): number {
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
