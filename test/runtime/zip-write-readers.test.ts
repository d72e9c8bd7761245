/**
 * The zips the runtime writes (uploadFiles' map of files, uploadDirectory's folder) as readers outside this project
 * read them: Info-ZIP `unzip -t` (CRC-32 of every entry), Python's zipfile (what many deploy tools use), and yauzl. ZIP64
 * is exercised with its cheap trigger, more than 65,535 entries (APPNOTE.TXT 4.4.1.4: the end record's 16-bit count),
 * and the central directory record of an entry past 4 GiB is read by Python's parser.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import * as yauzl from 'yauzl';
import { centralDirectoryRecord, DEFLATED, endOfCentralDirectory } from '../../src/runtime/zip/records';
import { zipDirectory, zipFiles } from '../../src/runtime/zip/write';

const KIB = 1024;
const unzipInstalled = spawnSync('unzip', ['-v']).status === 0;
const pythonInstalled = spawnSync('python3', ['-c', 'import zipfile']).status === 0;

let work: string;
beforeEach(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zip-readers-test-'));
});
afterEach(async () => {
  await fs.promises.rm(work, { recursive: true, force: true });
});

async function saveZip(stream: Readable): Promise<string> {
  const file = path.join(work, `${crypto.randomUUID()}.zip`);
  await pipeline(stream, fs.createWriteStream(file));
  return file;
}

/** Deterministic incompressible bytes. */
function noise(bytes: number, seed = 'noise'): Buffer {
  const key = crypto.createHash('sha256').update(seed).digest();
  return crypto.createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(bytes));
}

function text(bytes: number): Buffer {
  let out = '';
  for (let i = 0; out.length < bytes; i++) out += `line ${i}: export const value${i % 97} = ${i % 13};\n`;
  return Buffer.from(out.slice(0, bytes));
}

function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Info-ZIP's verdict on the archive: every entry's data and CRC-32 tested. */
function unzipTest(file: string): { status: number | null; output: string } {
  const result = spawnSync('unzip', ['-tqq', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, output: result.stdout + result.stderr };
}

interface PythonView {
  readonly count: number;
  /** zipfile's testzip(): the first entry whose CRC-32 does not match, or null. */
  readonly bad: string | null;
  /** name -> [sha256 of the content, UNIX mode, compression method]; only for archives of up to 100 entries. */
  readonly entries: Record<string, [string, number, number]>;
}

/** The archive as Python's zipfile reads it (central directory, ZIP64 records, every entry's content and CRC-32). */
function pythonView(file: string): PythonView {
  const script = [
    'import hashlib, json, sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1]) as z:',
    '    infos = z.infolist()',
    '    entries = {}',
    '    if len(infos) <= 100:',
    '        for i in infos: entries[i.filename] = [hashlib.sha256(z.read(i)).hexdigest(), i.external_attr >> 16, i.compress_type]',
    "    print(json.dumps({'count': len(infos), 'bad': z.testzip(), 'entries': entries}))",
  ].join('\n');
  const result = spawnSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`python3 zipfile failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as PythonView;
}

/** yauzl's entry names, in order. */
function yauzlNames(file: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: false }, (error, zip) => {
      if (error) return reject(error);
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => names.push(entry.fileName));
      zip.on('error', reject);
      zip.on('end', () => resolve(names));
    }),
  );
}

/** The entry count yauzl takes from the end records (the ZIP64 ones when the 16-bit fields are saturated). */
function yauzlEntryCount(file: string): Promise<number> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      resolve(zip.entryCount);
      zip.close();
    }),
  );
}

/** A map of files of every kind uploadFiles takes, and the content each must have. */
type FileSpecs = Record<string, string | Uint8Array | Readable | { content: string; mode: number }>;

function mixedFiles(): { files: FileSpecs; expected: Record<string, [Buffer, number]> } {
  const bigText = text(1500 * KIB);
  const bigNoise = noise(600 * KIB);
  const streamed = text(700 * KIB);
  const expected: Record<string, [Buffer, number]> = {
    'hello.txt': [Buffer.from('hello'), 0o100644],
    'bytes/small.bin': [Buffer.from([0, 1, 2, 3, 255]), 0o100644],
    'bytes/big-text.js': [bigText, 0o100644],
    'bytes/big-noise.bin': [bigNoise, 0o100644],
    'streams/text.log': [streamed, 0o100644],
    'streams/noise.bin': [noise(300 * KIB, 's'), 0o100644],
    'streams/empty.txt': [Buffer.alloc(0), 0o100644],
    'bin/run.sh': [Buffer.from('#!/bin/sh\necho hi\n'), 0o100755],
    'ünïcode/名前.txt': [Buffer.from('utf-8 names'), 0o100644],
    'empty.txt': [Buffer.alloc(0), 0o100644],
  };
  const pieces = (data: Buffer, size: number) =>
    Readable.from(Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)));
  const files = {
    'hello.txt': 'hello',
    'bytes/small.bin': new Uint8Array([0, 1, 2, 3, 255]),
    'bytes/big-text.js': new Uint8Array(bigText),
    'bytes/big-noise.bin': bigNoise,
    'streams/text.log': pieces(streamed, 10_000),
    'streams/noise.bin': pieces(noise(300 * KIB, 's'), 64 * KIB),
    'streams/empty.txt': Readable.from([]),
    'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    'ünïcode/名前.txt': 'utf-8 names',
    'empty.txt': '',
  };
  return { files, expected };
}

describe('uploadFiles zips', () => {
  (unzipInstalled ? test : test.skip)('Info-ZIP unzip -t finds a map of strings, bytes, streams and modes sound', async () => {
    const file = await saveZip(zipFiles(mixedFiles().files, 'Out'));
    expect(unzipTest(file)).toEqual({ status: 0, output: '' });
  });

  (pythonInstalled ? test : test.skip)("Python's zipfile reads every file of the map with its content and mode", async () => {
    const { files, expected } = mixedFiles();
    const view = pythonView(await saveZip(zipFiles(files, 'Out')));
    expect(view.bad).toBeNull();
    expect(Object.fromEntries(Object.entries(view.entries).map(([name, [hash, mode]]) => [name, [hash, mode]]))).toEqual(
      Object.fromEntries(Object.entries(expected).map(([name, [content, mode]]) => [name, [sha256(content), mode]])),
    );
  });

  test('yauzl lists the map in its order', async () => {
    const { files } = mixedFiles();
    expect(await yauzlNames(await saveZip(zipFiles(files, 'Out')))).toEqual(Object.keys(files));
  });
});

describe('ZIP64, by entry count', () => {
  const COUNT = 70_000;
  const many = () => Object.fromEntries(Array.from({ length: COUNT }, (_, i) => [`f/${String(i).padStart(5, '0')}.txt`, `${i}\n`]));
  let file: string;
  let keep: string;
  beforeAll(async () => {
    keep = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zip64-test-'));
    file = path.join(keep, 'many.zip');
    await pipeline(zipFiles(many(), 'Out'), fs.createWriteStream(file));
  }, 180_000); // 70,000 entries: seconds alone, longer on a loaded machine
  afterAll(async () => {
    await fs.promises.rm(keep, { recursive: true, force: true });
  });

  test('the end record saturates its 16-bit count and a ZIP64 end record and locator carry the real one', () => {
    const data = fs.readFileSync(file);
    const end = data.length - 22;
    const locator = end - 20;
    const zip64End = Number(data.readBigUInt64LE(locator + 8));
    expect({
      endSignature: data.readUInt32LE(end),
      endCount: data.readUInt16LE(end + 10),
      locatorSignature: data.readUInt32LE(locator),
      zip64Signature: data.readUInt32LE(zip64End),
      zip64Count: Number(data.readBigUInt64LE(zip64End + 32)),
    }).toEqual({ endSignature: 0x06054b50, endCount: 0xffff, locatorSignature: 0x07064b50, zip64Signature: 0x06064b50, zip64Count: COUNT });
  });

  (unzipInstalled ? test : test.skip)('Info-ZIP unzip -t tests all 70,000 entries', () => {
    const result = spawnSync('unzip', ['-t', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    expect({ status: result.status, summary: result.stdout.trim().split('\n').pop() }).toEqual({
      status: 0,
      summary: `No errors detected in compressed data of ${file}.`,
    });
    expect(result.stdout.match(/^ {4}testing: .* OK$/gm)?.length).toBe(COUNT);
  });

  (pythonInstalled ? test : test.skip)("Python's zipfile lists all 70,000 entries and reads the last one", () => {
    const script = [
      'import json, sys, zipfile',
      'with zipfile.ZipFile(sys.argv[1]) as z:',
      '    infos = z.infolist()',
      "    print(json.dumps({'count': len(infos), 'last': infos[-1].filename, 'content': z.read(infos[-1]).decode()}))",
    ].join('\n');
    const result = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    expect(JSON.parse(result.stdout || 'null')).toEqual({ count: COUNT, last: `f/${COUNT - 1}.txt`, content: `${COUNT - 1}\n` });
  });

  test('yauzl takes the entry count from the ZIP64 end record', async () => {
    expect(await yauzlEntryCount(file)).toBe(COUNT);
  });
});

describe('ZIP64, by size and offset', () => {
  // Writing 4 GiB takes too long for this suite: the records of an entry past 4 GiB are read by Python's parser instead.
  (pythonInstalled ? test : test.skip)("Python's zipfile reads the 8-byte sizes and offset of an entry past 4 GiB", () => {
    const GIB = 1024 ** 3;
    const meta = { relative: 'huge.bin', mode: 0o100644, mtime: new Date('2024-01-01T00:00:00Z') };
    const sizes = { crc: 0x12345678, size: 5 * GIB + 3, compressedSize: 4 * GIB + 7 };
    const record = centralDirectoryRecord(Buffer.from(meta.relative), meta, DEFLATED, sizes, 4 * GIB + 11, true);
    const file = path.join(work, 'records.zip');
    fs.writeFileSync(file, Buffer.concat([record, endOfCentralDirectory(1, record.length, 0)]));
    const script = [
      'import json, sys, zipfile',
      'i = zipfile.ZipFile(sys.argv[1]).infolist()[0]',
      'print(json.dumps([i.filename, i.file_size, i.compress_size, i.header_offset, i.CRC, i.compress_type, i.external_attr >> 16]))',
    ].join('\n');
    const result = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    expect(JSON.parse(result.stdout || 'null')).toEqual(['huge.bin', 5 * GIB + 3, 4 * GIB + 7, 4 * GIB + 11, 0x12345678, DEFLATED, 0o100644]);
  });
});

describe('uploadDirectory zips', () => {
  (pythonInstalled ? test : test.skip)("Python's zipfile reads a folder's files, links and empty folders with their modes", async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(src, 'empty'));
    fs.writeFileSync(path.join(src, 'bin/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(src, 'big.js'), text(900 * KIB));
    fs.writeFileSync(path.join(src, 'media.bin'), noise(400 * KIB));
    fs.symlinkSync('bin/run.sh', path.join(src, 'run'));
    const view = pythonView(await saveZip(zipDirectory(src)));
    expect(view.bad).toBeNull();
    const modes = Object.fromEntries(Object.entries(view.entries).map(([name, [, mode]]) => [name, mode.toString(8)]));
    expect(modes).toEqual({ 'big.js': '100644', 'bin/run.sh': '100755', 'empty/': expect.stringMatching(/^40/), 'media.bin': '100644', 'run': '120777' });
    expect([view.entries['big.js'][0], view.entries['media.bin'][0]]).toEqual([sha256(text(900 * KIB)), sha256(noise(400 * KIB))]);
  });
});
