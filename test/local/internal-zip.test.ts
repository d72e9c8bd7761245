/**
 * The local runner's extraction of output artifacts (src/local/internal/zip.ts), read with the runtime's central
 * directory reader: modes and symlinks as they are, and entries that do not inflate to their declared size refused.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { extractZip } from '../../src/local/internal/zip';
import { craftZip } from '../runtime/zip-craft';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'local-zip-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function saved(zip: Buffer): string {
  const file = path.join(work, 'out.zip');
  fs.writeFileSync(file, zip);
  return file;
}

test('an output artifact extracts with its executable bit and its symlink', async () => {
  const zip = craftZip([
    { name: 'bin/run', data: Buffer.from('#!/bin/sh\n'), mode: 0o100755 },
    { name: 'docs/', mode: 0o040755 },
    { name: 'latest', data: Buffer.from('bin/run'), mode: 0o120777 },
    { name: 'notes.txt', data: Buffer.from('stored'), store: true },
  ]);
  const out = path.join(work, 'out');
  expect(await extractZip(saved(zip), out, 'Out')).toBe(3);
  expect(fs.statSync(path.join(out, 'bin', 'run')).mode & 0o111).not.toBe(0);
  expect(fs.readlinkSync(path.join(out, 'latest'))).toBe('bin/run');
  expect(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('stored');
  expect(fs.statSync(path.join(out, 'docs')).isDirectory()).toBe(true);
});

test('an entry that inflates to more than its declared size is refused', async () => {
  const zip = craftZip([{ name: 'liar.txt', data: Buffer.alloc(10_000, 'x'), declaredSize: 100 }]);
  await expect(extractZip(saved(zip), path.join(work, 'out'), 'Out')).rejects.toThrow(/liar\.txt does not inflate to its declared 100 bytes/);
});

test('an entry whose name leaves the folder is refused', async () => {
  const zip = craftZip([{ name: '../escape.txt', data: Buffer.from('x') }]);
  await expect(extractZip(saved(zip), path.join(work, 'out'), 'Out')).rejects.toThrow(/leaves the folder/);
  expect(fs.existsSync(path.join(work, 'escape.txt'))).toBe(false);
});
