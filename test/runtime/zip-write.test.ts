/**
 * The folder zip writer: which entries are stored and which deflated, and that every kind of file round-trips byte for
 * byte with its exact CRC-32, through yauzl, our own reader and (where installed) Info-ZIP's `unzip -t`.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import * as zlib from 'zlib';
import * as yauzl from 'yauzl';
import { extractZip } from '../../src/runtime/zip/extract';
import { resolveLimits } from '../../src/runtime/zip/safety';
import { zipDirectory, zipFiles } from '../../src/runtime/zip/write';

const STORED = 0;
const DEFLATED = 8;
const KIB = 1024;

let work: string;
let src: string;
beforeEach(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zip-write-test-'));
  src = path.join(work, 'src');
  fs.mkdirSync(src);
});
afterEach(async () => {
  await fs.promises.rm(work, { recursive: true, force: true });
});

/** Deterministic incompressible bytes. */
function noise(bytes: number, seed = 'noise'): Buffer {
  const key = crypto.createHash('sha256').update(seed).digest();
  return crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(bytes));
}

/** Source-like text that deflates well. */
function text(bytes: number, seed = 1): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `export const value${(i * seed) % 997} = compute(${i % 13}, 'stage-${i % 7}');\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

function writeFile(relative: string, content: Buffer, mode = 0o644): void {
  const file = path.join(src, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
}

async function saveZip(stream: Readable): Promise<string> {
  const file = path.join(work, 'written.zip');
  await pipeline(stream, fs.createWriteStream(file));
  return file;
}

interface ReadEntry {
  readonly method: number;
  readonly crc32: number;
  readonly content: Buffer;
  readonly mode: number;
  readonly mtime: Date;
}

/** Every entry of a zip as yauzl reads it (content checked against the declared sizes). */
function readEntries(file: string): Promise<Map<string, ReadEntry>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, validateEntrySizes: true }, (openError, zip) => {
      if (openError) return reject(openError);
      const entries = new Map<string, ReadEntry>();
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        const meta = {
          method: entry.compressionMethod,
          crc32: entry.crc32,
          mode: entry.externalFileAttributes >>> 16,
          mtime: entry.getLastModDate(),
        };
        if (entry.fileName.endsWith('/')) {
          entries.set(entry.fileName, { ...meta, content: Buffer.alloc(0) });
          return zip.readEntry();
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.set(entry.fileName, { ...meta, content: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** The entry has exactly this content, the CRC-32 of that content, and the given method. */
function expectEntry(entries: Map<string, ReadEntry>, name: string, content: Buffer, method: number): void {
  const entry = entries.get(name);
  if (entry === undefined) throw new Error(`no entry ${name} in the zip; it has ${[...entries.keys()].join(', ')}`);
  expect({ name, method: entry.method, crc32: entry.crc32 }).toEqual({ name, method, crc32: zlib.crc32(content) });
  expect(entry.content.equals(content)).toBe(true);
}

/** Our own reader extracts the zip into exactly the source folder's files. */
async function expectOwnReaderRoundTrip(zipFile: string, files: Record<string, Buffer>): Promise<void> {
  const out = path.join(work, 'out');
  await extractZip({ file: zipFile }, out, 'Out', resolveLimits({}), fs.statSync(zipFile).size);
  for (const [relative, content] of Object.entries(files)) {
    expect(fs.readFileSync(path.join(out, relative)).equals(content)).toBe(true);
  }
}

/** Files of this process open under `dir` (Linux). */
function openFilesUnder(dir: string): string[] {
  return fs
    .readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    })
    .filter((target) => target.startsWith(dir));
}

const unzipInstalled = spawnSync('unzip', ['-v']).status === 0;

describe('stored or deflated', () => {
  test('an incompressible file is stored and a text file deflated, both byte-exact with their CRC-32', async () => {
    const files = { 'media/clip.mp4': noise(300 * KIB), 'src/index.ts': text(20 * KIB) };
    for (const [relative, content] of Object.entries(files)) writeFile(relative, content);
    const zipFile = await saveZip(zipDirectory(src));
    const entries = await readEntries(zipFile);
    expectEntry(entries, 'media/clip.mp4', files['media/clip.mp4'], STORED);
    expectEntry(entries, 'src/index.ts', files['src/index.ts'], DEFLATED);
    await expectOwnReaderRoundTrip(zipFile, files);
  });

  test('a small file is deflated when deflate shrinks it at all, and stored when deflate would grow it', async () => {
    const files = { 'tiny.bin': noise(10 * KIB), 'almost.bin': Buffer.concat([noise(10 * KIB), Buffer.alloc(KIB)]) };
    for (const [relative, content] of Object.entries(files)) writeFile(relative, content);
    const entries = await readEntries(await saveZip(zipDirectory(src)));
    expectEntry(entries, 'tiny.bin', files['tiny.bin'], STORED);
    expectEntry(entries, 'almost.bin', files['almost.bin'], DEFLATED);
  });

  test('a file read whole (over 64 KiB, under the streaming size) is judged by its whole deflated size', async () => {
    // noisy.js: its first 64 KiB are noise, yet the whole file deflates to about 70 %: a sample would have stored it.
    const files = { 'photo.jpg': noise(100 * KIB), 'bundle.js': text(100 * KIB), 'noisy.js': Buffer.concat([noise(64 * KIB), text(120 * KIB)]) };
    for (const [relative, content] of Object.entries(files)) writeFile(relative, content);
    const entries = await readEntries(await saveZip(zipDirectory(src)));
    expectEntry(entries, 'photo.jpg', files['photo.jpg'], STORED);
    expectEntry(entries, 'bundle.js', files['bundle.js'], DEFLATED);
    expectEntry(entries, 'noisy.js', files['noisy.js'], DEFLATED);
  });

  test('a large compressible file is deflated in pieces that join into one stream, compressing like a single pass', async () => {
    const big = Buffer.concat([text(3 * 1024 * KIB), text(1024 * KIB + 12345, 7)]);
    writeFile('lib/big.js', big);
    const zipFile = await saveZip(zipDirectory(src));
    const entries = await readEntries(zipFile);
    expectEntry(entries, 'lib/big.js', big, DEFLATED);
    // Each piece is deflated with the 32 KiB before it as dictionary: within 1 % of deflating the file in one go.
    expect(fs.statSync(zipFile).size).toBeLessThan(zlib.deflateRawSync(big).length * 1.01 + 200);
    await expectOwnReaderRoundTrip(zipFile, { 'lib/big.js': big });
  });

  test('a file whose first 64 KiB are noise but the rest compressible is stored, and still exact', async () => {
    const mixed = Buffer.concat([noise(64 * KIB), text(1024 * KIB)]);
    writeFile('weights.bin', mixed);
    const zipFile = await saveZip(zipDirectory(src));
    expectEntry(await readEntries(zipFile), 'weights.bin', mixed, STORED);
    await expectOwnReaderRoundTrip(zipFile, { 'weights.bin': mixed });
  });

  test('a zero-length file round-trips empty, stored, with the CRC-32 of nothing', async () => {
    writeFile('empty.txt', Buffer.alloc(0));
    writeFile('after.txt', text(100));
    const zipFile = await saveZip(zipDirectory(src));
    const entries = await readEntries(zipFile);
    expectEntry(entries, 'empty.txt', Buffer.alloc(0), STORED);
    expect(entries.get('empty.txt')?.crc32).toBe(0);
    await expectOwnReaderRoundTrip(zipFile, { 'empty.txt': Buffer.alloc(0), 'after.txt': text(100) });
  });

  test('uploadFiles content over 64 KiB is stored when it does not compress', async () => {
    const bytes = noise(200 * KIB);
    const entries = await readEntries(await saveZip(zipFiles({ 'asset.bin': bytes, 'notes.md': text(200 * KIB).toString('utf8') }, 'Out')));
    expectEntry(entries, 'asset.bin', bytes, STORED);
    expectEntry(entries, 'notes.md', text(200 * KIB), DEFLATED);
  });
});

describe('a folder of many files', () => {
  /** More files than are read ahead, of every kind the writer handles, in an order the disk may not keep. */
  function manyFiles(): Record<string, Buffer> {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 150; i++) files[`src/pkg-${i % 7}/file-${String(149 - i).padStart(3, '0')}.ts`] = text(1 + ((i * 977) % (40 * KIB)), i + 1);
    files['media/a.mp4'] = noise(700 * KIB, 'a');
    files['media/b.png'] = noise(90 * KIB, 'b');
    files['lib/native.node'] = Buffer.concat([text(300 * KIB), noise(300 * KIB, 'c')]);
    return files;
  }

  test('every file round-trips exactly, in name order, with its mode and mtime', async () => {
    const files = manyFiles();
    for (const [relative, content] of Object.entries(files)) writeFile(relative, content);
    fs.chmodSync(path.join(src, 'lib/native.node'), 0o755);
    const mtime = new Date('2024-06-01T12:00:00Z');
    fs.utimesSync(path.join(src, 'media/a.mp4'), mtime, mtime);
    const zipFile = await saveZip(zipDirectory(src));
    const entries = await readEntries(zipFile);
    expect([...entries.keys()]).toEqual(Object.keys(files).sort((a, b) => (a < b ? -1 : 1)));
    for (const [relative, content] of Object.entries(files)) {
      // Media is stored; so is a text file too short for deflate to shrink (file-149.ts is one byte).
      const stored = relative.startsWith('media/') || zlib.deflateRawSync(content).length >= content.length;
      expectEntry(entries, relative, content, stored ? STORED : DEFLATED);
    }
    expect(entries.get('lib/native.node')?.mode).toBe(0o100755);
    expect(entries.get('media/a.mp4')?.mtime.getTime()).toBe(mtime.getTime());
    await expectOwnReaderRoundTrip(zipFile, files);
  });

  (unzipInstalled ? test : test.skip)('Info-ZIP unzip -t finds the archive sound', async () => {
    for (const [relative, content] of Object.entries(manyFiles())) writeFile(relative, content);
    fs.symlinkSync('src', path.join(src, 'link'));
    fs.mkdirSync(path.join(src, 'empty'));
    const result = spawnSync('unzip', ['-tqq', await saveZip(zipDirectory(src))], { encoding: 'utf8' });
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: '' });
  });

  (process.platform === 'win32' ? test.skip : test)('a FIFO in the folder is skipped, never waited on', async () => {
    writeFile('a.txt', text(100));
    expect(spawnSync('mkfifo', [path.join(src, 'pipe')]).status).toBe(0);
    const entries = await readEntries(await saveZip(zipDirectory(src)));
    expect([...entries.keys()]).toEqual(['a.txt']);
  });

  (fs.existsSync('/proc/self/fd') ? test : test.skip)('closing the output part-way closes the file being read', async () => {
    for (const [relative, content] of Object.entries(manyFiles())) writeFile(relative, content);
    const zip = zipDirectory(src);
    const firstChunk = await new Promise<Buffer>((resolve) => zip.once('data', resolve));
    expect(firstChunk.readUInt32LE(0)).toBe(0x04034b50); // a local file header: lib/native.node, streamed, comes first
    zip.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(openFilesUnder(src)).toEqual([]);
  });
});
