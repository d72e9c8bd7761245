/* eslint-disable no-bitwise -- UNIX modes are bit fields (file type | permissions) */
/**
 * Writing artifact zips with yazl, as a stream (nothing is buffered whole): a folder, or a map of files.
 *
 * Why yazl: the writing half of yauzl (same author and conventions), streaming output with no dependencies, zip64
 * when needed, UNIX modes (executable bits survive), and one file open at a time however many are added.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough, Readable } from 'stream';
import * as zlib from 'zlib';
import type { ZipFile } from 'yazl';
import { safeEntryPath } from './zip-safety';

function yazl(): typeof import('yazl') {
  // Loaded on first use, like yauzl: handlers without output artifacts never pay for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module: typeof import('yazl') = require('yazl');
  useNativeCrc32();
  return module;
}

let crc32Checked = false;

/**
 * yazl computes CRC-32 with buffer-crc32, a JavaScript table loop (~126 MB/s measured); zlib.crc32 (Node >= 20.15 and
 * 22.2, so every Lambda Node.js runtime) gives the same values ~6x faster. yazl looks `unsigned` up at each call, so
 * swapping it in makes uploads of large artifacts markedly cheaper. Without zlib.crc32, nothing changes.
 */
function useNativeCrc32(): void {
  if (crc32Checked) return;
  crc32Checked = true;
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (typeof native !== 'function') return;
  try {
    // yazl's own dependency, patched where yazl finds it (not one of ours: nothing else uses it).
    // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
    const bufferCrc32 = require('buffer-crc32') as { unsigned: (buf: unknown, previous?: unknown) => number };
    const original = bufferCrc32.unsigned;
    bufferCrc32.unsigned = (buf, previous) =>
      Buffer.isBuffer(buf) && (previous === undefined || typeof previous === 'number')
        ? native(buf, (previous as number | undefined) ?? 0) >>> 0
        : original(buf, previous);
  } catch {
    // buffer-crc32 not resolvable from here (nested install): yazl keeps its own.
  }
}

/** The content of one file of an output artifact. */
export type FileContent = string | Uint8Array | Readable;

/** A file with its UNIX mode, e.g. `{ content: '#!/bin/sh\n...', mode: 0o755 }` for a script. */
export interface FileWithMode {
  readonly content: FileContent;
  readonly mode: number;
}

export type FileSpec = FileContent | FileWithMode;

const REGULAR_FILE = 0o100000;
const SYMLINK = 0o120000;
const DEFAULT_FILE_MODE = 0o644;

/**
 * A zip of the folder `dir`, as a stream. Files keep their mode (executable bits) and mtime; symlinks are stored as
 * symlinks (not followed, so nothing outside the folder is read); empty folders are kept.
 */
export function zipDirectory(dir: string): Readable {
  const zip = new (yazl().ZipFile)();
  const out = connectOutput(zip);
  addDirectory(zip, path.resolve(dir), '')
    .then(() => zip.end())
    .catch((error: Error) => out.destroy(error));
  return out;
}

/** A zip of the given files (path inside the zip -> content), as a stream. */
export function zipFiles(files: { readonly [path: string]: FileSpec }, artifact: string): Readable {
  const zip = new (yazl().ZipFile)();
  const out = connectOutput(zip);
  try {
    for (const [name, spec] of Object.entries(files)) {
      const entryPath = safeEntryPath(name, artifact);
      const { content, mode } = isFileWithMode(spec) ? spec : { content: spec, mode: DEFAULT_FILE_MODE };
      const options = { mode: REGULAR_FILE | (mode & 0o7777) };
      if (content instanceof Readable) zip.addReadStream(content, entryPath, options);
      else zip.addBuffer(typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content), entryPath, options);
    }
    zip.end();
  } catch (error) {
    process.nextTick(() => out.destroy(error as Error));
  }
  return out;
}

function isFileWithMode(spec: FileSpec): spec is FileWithMode {
  return typeof spec === 'object' && spec !== null && !(spec instanceof Readable) && !(spec instanceof Uint8Array) && 'content' in spec;
}

/** yazl reports failures (an unreadable file) on the ZipFile, not on its output stream: forward them. */
function connectOutput(zip: ZipFile): Readable {
  const out = new PassThrough();
  zip.on('error', (error: Error) => out.destroy(error));
  zip.outputStream.on('error', (error: Error) => out.destroy(error));
  zip.outputStream.pipe(out);
  return out;
}

async function addDirectory(zip: ZipFile, absolute: string, relative: string): Promise<void> {
  const children = (await fs.promises.readdir(absolute, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (children.length === 0 && relative !== '') {
    const stats = await fs.promises.stat(absolute);
    zip.addEmptyDirectory(relative, { mtime: stats.mtime, mode: stats.mode });
    return;
  }
  for (const child of children) {
    const childAbsolute = path.join(absolute, child.name);
    const childRelative = relative === '' ? child.name : `${relative}/${child.name}`;
    if (child.isSymbolicLink()) {
      const target = await fs.promises.readlink(childAbsolute);
      const stats = await fs.promises.lstat(childAbsolute);
      zip.addBuffer(Buffer.from(target, 'utf8'), childRelative, { mode: SYMLINK | 0o777, mtime: stats.mtime, compress: false });
    } else if (child.isDirectory()) {
      await addDirectory(zip, childAbsolute, childRelative);
    } else if (child.isFile()) {
      zip.addFile(childAbsolute, childRelative);
    }
    // Sockets, FIFOs and devices have no content to archive: skipped.
  }
}
