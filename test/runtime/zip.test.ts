/**
 * Artifact zips on local disk: safe extraction (zip slip, symlinks, zip bombs, lying headers), modes, and the zip
 * writer. The same code runs against S3 in artifacts.wire.test.ts.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import * as zlib from 'zlib';
import { defaultReadFileMaxBytes } from '../../src/runtime/artifacts';
import { ArtifactSafetyError } from '../../src/runtime/errors';
import { extractZip } from '../../src/runtime/zip/extract';
import { readZipEntry } from '../../src/runtime/zip/read';
import { DEFAULT_EXTRACTION_LIMITS, ExtractionLimits, resolveLimits } from '../../src/runtime/zip/safety';
import { zipDirectory, zipFiles } from '../../src/runtime/zip/write';
import { craftZip, CraftedEntry, oneGibOfZerosDeflated } from '../support/zip-forge';

let work: string;
beforeEach(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zip-test-'));
});
afterEach(async () => {
  await fs.promises.rm(work, { recursive: true, force: true });
});

async function writeZip(entries: readonly CraftedEntry[]): Promise<string> {
  const file = path.join(work, `${Math.random().toString(36).slice(2)}.zip`);
  await fs.promises.writeFile(file, craftZip(entries));
  return file;
}

async function extract(file: string, limits: Partial<ExtractionLimits> = {}): Promise<string> {
  const out = path.join(work, 'out');
  await extractZip({ file }, out, 'Source', resolveLimits(limits), (await fs.promises.stat(file)).size);
  return out;
}

async function refusal(promise: Promise<unknown>): Promise<ArtifactSafetyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArtifactSafetyError);
  return error as ArtifactSafetyError;
}

function listTree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('extraction of a well-formed zip', () => {
  test('writes files and folders with their content', async () => {
    const file = await writeZip([
      { name: 'app.json', data: Buffer.from('{"a":1}') },
      { name: 'src/', mode: 0o040755 },
      { name: 'src/index.js', data: Buffer.from('console.log(1)') },
    ]);
    const out = await extract(file);
    expect(listTree(out)).toEqual(['app.json', 'src', 'src/index.js']);
    expect(fs.readFileSync(path.join(out, 'src/index.js'), 'utf8')).toBe('console.log(1)');
  });

  test('keeps the executable bit the zip records', async () => {
    const file = await writeZip([
      { name: 'run.sh', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o100755 },
      { name: 'data.txt', data: Buffer.from('x'), mode: 0o100644 },
    ]);
    const out = await extract(file);
    expect(fs.statSync(path.join(out, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(fs.statSync(path.join(out, 'data.txt')).mode & 0o777).toBe(0o644);
  });

  test('never sets setuid, setgid or sticky bits', async () => {
    const file = await writeZip([{ name: 'suid', data: Buffer.from('x'), mode: 0o104755 }]);
    const out = await extract(file);
    expect(fs.statSync(path.join(out, 'suid')).mode & 0o7777).toBe(0o755);
  });

  test('creates a symlink that stays inside the folder', async () => {
    const file = await writeZip([
      { name: 'lib/real.js', data: Buffer.from('ok') },
      { name: 'bin/tool', data: Buffer.from('../lib/real.js'), mode: 0o120777, store: true },
    ]);
    const out = await extract(file);
    expect(fs.readlinkSync(path.join(out, 'bin/tool'))).toBe('../lib/real.js');
    expect(fs.readFileSync(path.join(out, 'bin/tool'), 'utf8')).toBe('ok');
  });

  test('treats backslashes as separators', async () => {
    const file = await writeZip([{ name: 'dir\\file.txt', data: Buffer.from('x') }]);
    const out = await extract(file);
    expect(listTree(out)).toEqual(['dir', 'dir/file.txt']);
  });
});

describe('zip slip is refused', () => {
  test.each([
    ['a parent-folder entry', '../evil.txt'],
    ['a nested parent-folder entry', 'a/b/../../../evil.txt'],
    ['an absolute path', '/tmp/evil.txt'],
    ['a drive letter', 'C:/Windows/evil.txt'],
    ['a drive letter with backslashes', 'C:\\Windows\\evil.txt'],
    ['backslash parent folders', '..\\..\\evil.txt'],
    ['mixed separators', 'a\\..//..\\evil.txt'],
  ])('%s (%s)', async (_what, name) => {
    const file = await writeZip([
      { name: 'fine.txt', data: Buffer.from('ok') },
      { name, data: Buffer.from('pwned') },
    ]);
    const error = await refusal(extract(file));
    expect(error.reason).toBe('unsafe-path');
    expect(error.message).toMatch(/Artifact Source/);
    expect(fs.existsSync(path.join(work, 'evil.txt'))).toBe(false);
    expect(fs.existsSync(path.join(work, 'out', 'fine.txt'))).toBe(false); // checked before anything is written
  });
});

describe('symlinks escaping the folder are refused', () => {
  test('a link to an absolute path', async () => {
    const file = await writeZip([{ name: 'passwd', data: Buffer.from('/etc/passwd'), mode: 0o120777, store: true }]);
    const error = await refusal(extract(file));
    expect(error.reason).toBe('unsafe-symlink');
    expect(error.message).toMatch(/points to an absolute path/);
  });

  test('a link climbing out with ..', async () => {
    const file = await writeZip([{ name: 'a/up', data: Buffer.from('../../outside'), mode: 0o120777, store: true }]);
    expect((await refusal(extract(file))).message).toMatch(/points outside the folder/);
  });

  test('a chain of links that escapes only when followed', async () => {
    // 'here' -> '.' is harmless alone; 'here/sub/../..' looks inside when read literally but leads above the folder.
    const file = await writeZip([
      { name: 'sub/keep.txt', data: Buffer.from('x') },
      { name: 'here', data: Buffer.from('.'), mode: 0o120777, store: true },
      { name: 'sub/escape', data: Buffer.from('../here/sub/../..'), mode: 0o120777, store: true },
    ]);
    const error = await refusal(extract(file));
    expect(error.reason).toBe('unsafe-symlink');
    expect(fs.existsSync(path.join(work, 'out', 'sub', 'escape'))).toBe(false);
  });

  test('a link with the path of a folder of the archive is refused, so no file is written through it', async () => {
    // Refused while planning, before anything is written (an entry nested under a link of the same archive).
    const file = await writeZip([
      { name: 'docs', data: Buffer.from('sub'), mode: 0o120777, store: true },
      { name: 'sub/', mode: 0o040755 },
      { name: 'docs/readme.txt', data: Buffer.from('x') },
    ]);
    const error = await refusal(extract(file));
    expect(error.message).toMatch(/entry "docs\/readme.txt" lies inside "docs", which the archive makes a symlink/);
    expect(fs.existsSync(path.join(work, 'out', 'sub', 'readme.txt'))).toBe(false);
    expect(fs.existsSync(path.join(work, 'out', 'docs'))).toBe(false);
  });
});

describe('zip bombs are refused', () => {
  test('1 GiB of zeros compressed about 1000:1', async () => {
    const bomb = oneGibOfZerosDeflated();
    expect(bomb.size / bomb.raw.length).toBeGreaterThan(900);
    const file = await writeZip([{ name: 'zeros.bin', deflated: bomb }]);
    const error = await refusal(extract(file));
    expect(error.reason).toBe('compression-ratio');
    expect(error.message).toMatch(/zeros\.bin.*expands 10\d\d:1.*zip bomb/);
    expect(fs.existsSync(path.join(work, 'out', 'zeros.bin'))).toBe(false);
  });

  test('the same bomb passes once the caller raises the ratio limit, but the size limit still holds', async () => {
    const file = await writeZip([{ name: 'zeros.bin', deflated: oneGibOfZerosDeflated() }]);
    const error = await refusal(extract(file, { maxCompressionRatio: 2000, maxTotalBytes: 100 * 1024 ** 2 }));
    expect(error.reason).toBe('too-large');
  });

  test('too many entries', async () => {
    const entries = Array.from({ length: 51 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x'), store: true }));
    const error = await refusal(extract(await writeZip(entries), { maxEntries: 50 }));
    expect(error.reason).toBe('too-many-entries');
    expect(error.message).toMatch(/51 entries, more than the limit of 50/);
  });

  test('a total size over the limit, even when each entry is small', async () => {
    const noise = Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * 7919) % 251));
    const entries = Array.from({ length: 4 }, (_, i) => ({ name: `part${i}.bin`, data: noise }));
    const error = await refusal(extract(await writeZip(entries), { maxTotalBytes: 1024 ** 2 }));
    expect(error.reason).toBe('too-large');
  });

  test('overlapping entries that share one compressed body (a non-recursive zip bomb)', async () => {
    // Each entry alone stays under the ratio limit; together they expand far beyond it.
    const data = Buffer.alloc(2 * 1024 ** 2);
    for (let i = 0; i < data.length; i += 37) data[i] = (i * 31) % 256;
    const entries: CraftedEntry[] = [{ name: 'f0', data }, ...Array.from({ length: 40 }, (_, i) => ({ name: `f${i + 1}`, sameDataAs: 0 }))];
    const error = await refusal(extract(await writeZip(entries)));
    expect(error.reason).toBe('compression-ratio');
    expect(error.message).toMatch(/^Artifact Source expands/);
  });

  test('an entry that inflates to more than its header declares', async () => {
    const zeros = Buffer.alloc(4 * 1024 ** 2);
    const error = await refusal(extract(await writeZip([{ name: 'liar.bin', data: zeros, declaredSize: 1000 }])));
    expect(error.reason).toBe('corrupt');
    expect(fs.existsSync(path.join(work, 'out', 'liar.bin')) ? fs.statSync(path.join(work, 'out', 'liar.bin')).size : 0).toBeLessThanOrEqual(4 * 1024 ** 2);
  });

  test('a big entry that inflates to more than its header declares (the streaming path)', async () => {
    const zeros = Buffer.alloc(4 * 1024 ** 2);
    const error = await refusal(extract(await writeZip([{ name: 'liar.bin', data: zeros, declaredSize: 300 * 1024 }])));
    expect(error.reason).toBe('corrupt');
    expect(error.message).toMatch(/too many bytes/);
  });

  test('small files of repeated bytes are not mistaken for bombs', async () => {
    const out = await extract(await writeZip([{ name: 'spaces.txt', data: Buffer.alloc(512 * 1024, 0x20) }]));
    expect(fs.statSync(path.join(out, 'spaces.txt')).size).toBe(512 * 1024);
  });

  test('the defaults are sane', () => {
    expect(DEFAULT_EXTRACTION_LIMITS).toEqual({
      maxTotalBytes: 2 * 1024 ** 3,
      maxEntries: 100_000,
      maxCompressionRatio: 200,
      ratioThresholdBytes: 1024 ** 2,
    });
  });
});

describe('clear messages for awkward but harmless or clashing names (issue #12)', () => {
  test('a folder d/ and a file d in one zip are refused as an unsafe path, not with a raw EISDIR', async () => {
    const file = await writeZip([
      { name: 'd/', mode: 0o040755 },
      { name: 'd', data: Buffer.from('file') },
    ]);
    const error = await refusal(extract(file));
    expect({ reason: error.reason, entry: error.entry }).toEqual({ reason: 'unsafe-path', entry: 'd' });
    expect(error.message).toBe('Artifact Source: entry "d" is both a folder and a file in the archive; refusing to extract');
  });

  test('a file d after files inside d/ is refused as an unsafe path, naming both', async () => {
    const file = await writeZip([
      { name: 'd/inner.txt', data: Buffer.from('inner') },
      { name: 'd', data: Buffer.from('file') },
    ]);
    expect((await refusal(extract(file))).message).toMatch(/entry "d\/inner.txt" lies inside "d", which the archive makes a file/);
  });

  test('a file of a second zip where the folder already has a folder of that name is refused as an unsafe path', async () => {
    await extract(await writeZip([{ name: 'd/inner.txt', data: Buffer.from('inner') }]));
    const error = await refusal(extract(await writeZip([{ name: 'd', data: Buffer.from('file') }])));
    expect(error.message).toBe('Artifact Source: entry "d" is a file, but the folder already has a folder of that name; refusing to extract');
  });

  test('a ./ entry names the folder itself and is skipped; ./x and x/./y entries extract', async () => {
    const file = await writeZip([
      { name: './', mode: 0o040755 },
      { name: './app.json', data: Buffer.from('{}') },
      { name: './src/', mode: 0o040755 },
      { name: 'src/./index.js', data: Buffer.from('1') },
    ]);
    const out = await extract(file);
    expect(listTree(out)).toEqual(['app.json', 'src', 'src/index.js']);
    expect((await readZipEntry({ file }, 'src/index.js', 'Source', DEFAULT_EXTRACTION_LIMITS)).toString()).toBe('1');
  });

  test('a file named . (not a folder) is still refused as having an empty name', async () => {
    expect((await refusal(extract(await writeZip([{ name: '.', data: Buffer.from('x') }])))).message).toMatch(/has an empty name/);
  });
});

describe('readZipEntry memory and integrity (issue #12)', () => {
  test('an entry larger than maxBytes is refused, pointing to openFile and extractTo', async () => {
    const file = await writeZip([{ name: 'data.csv', data: Buffer.alloc(5000, 'a,b\n') }]);
    const error = await refusal(readZipEntry({ file }, 'data.csv', 'Source', DEFAULT_EXTRACTION_LIMITS, 4096));
    expect(error.reason).toBe('too-large');
    expect(error.message).toMatch(/openFile\(\).*extractTo\(\)/);
  });

  test("readFile's default limit is an eighth of the function's memory, 64 MiB when the memory is unknown", () => {
    expect(defaultReadFileMaxBytes({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' })).toBe(64 * 1024 * 1024);
    expect(defaultReadFileMaxBytes({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128' })).toBe(16 * 1024 * 1024);
    expect(defaultReadFileMaxBytes({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' })).toBe(1280 * 1024 * 1024);
    expect(defaultReadFileMaxBytes({})).toBe(64 * 1024 * 1024);
    expect(defaultReadFileMaxBytes({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: 'lots' })).toBe(64 * 1024 * 1024);
  });

  test('an entry of exactly maxBytes is read whole', async () => {
    const file = await writeZip([{ name: 'data.csv', data: Buffer.alloc(4096, 'x') }]);
    expect((await readZipEntry({ file }, 'data.csv', 'Source', DEFAULT_EXTRACTION_LIMITS, 4096)).length).toBe(4096);
  });

  test('a deflated entry whose CRC-32 does not match fails readZipEntry, naming the entry', async () => {
    const zip = craftZip([{ name: 'app.json', data: Buffer.from('{"ok":true}') }]);
    const crcAt = zip.indexOf(Buffer.from('PK\x01\x02', 'latin1')) + 16;
    zip.writeUInt32LE((zip.readUInt32LE(crcAt) ^ 1) >>> 0, crcAt);
    const file = path.join(work, 'bad-crc.zip');
    await fs.promises.writeFile(file, zip);
    const error = await refusal(readZipEntry({ file }, 'app.json', 'Source', DEFAULT_EXTRACTION_LIMITS));
    expect({ reason: error.reason, entry: error.entry }).toEqual({ reason: 'corrupt', entry: 'app.json' });
    expect(error.message).toMatch(/Artifact Source is not a valid zip: entry "app.json" fails its CRC-32 check/);
  });
});

describe('readZipEntry', () => {
  test('reads one entry by path', async () => {
    const file = await writeZip([
      { name: 'a.txt', data: Buffer.from('A') },
      { name: 'config/app.json', data: Buffer.from('{"ok":true}') },
    ]);
    expect((await readZipEntry({ file }, 'config/app.json', 'Source', DEFAULT_EXTRACTION_LIMITS)).toString()).toBe('{"ok":true}');
    expect((await readZipEntry({ file }, './config\\app.json', 'Source', DEFAULT_EXTRACTION_LIMITS)).toString()).toBe('{"ok":true}');
  });

  test('names the missing file and what the artifact has', async () => {
    const file = await writeZip([{ name: 'a.txt', data: Buffer.from('A') }]);
    await expect(readZipEntry({ file }, 'b.txt', 'Source', DEFAULT_EXTRACTION_LIMITS)).rejects.toThrow(/Artifact Source has no file "b.txt" \(1 entries: a.txt\)/);
  });

  test('refuses to read a bomb entry into memory', async () => {
    const file = await writeZip([{ name: 'zeros.bin', deflated: oneGibOfZerosDeflated() }]);
    const error = await refusal(readZipEntry({ file }, 'zeros.bin', 'Source', DEFAULT_EXTRACTION_LIMITS));
    expect(error.reason).toBe('compression-ratio');
  });

  test('a file that is not a zip is reported as corrupt', async () => {
    const file = path.join(work, 'not.zip');
    await fs.promises.writeFile(file, 'hello, I am text');
    expect((await refusal(readZipEntry({ file }, 'a', 'Source', DEFAULT_EXTRACTION_LIMITS))).message).toMatch(/Artifact Source is not a valid zip/);
  });
});

describe('zip writer', () => {
  async function saveZip(stream: Readable): Promise<string> {
    const file = path.join(work, 'written.zip');
    await pipeline(stream, fs.createWriteStream(file));
    return file;
  }

  test('a folder round-trips with modes, symlinks and empty folders', async () => {
    const src = path.join(work, 'src');
    fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(src, 'empty'));
    fs.writeFileSync(path.join(src, 'bin', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    fs.writeFileSync(path.join(src, 'readme.md'), '# hi');
    fs.symlinkSync('bin/run.sh', path.join(src, 'run'));
    const out = await extract(await saveZip(zipDirectory(src)));
    expect(listTree(out)).toEqual(['bin', 'bin/run.sh', 'empty', 'readme.md', 'run']);
    expect(fs.statSync(path.join(out, 'bin/run.sh')).mode & 0o111).toBe(0o111);
    expect(fs.readlinkSync(path.join(out, 'run'))).toBe('bin/run.sh');
    expect(fs.readFileSync(path.join(out, 'readme.md'), 'utf8')).toBe('# hi');
  });

  test('a map of files becomes a zip, strings, bytes, streams and modes alike', async () => {
    const file = await saveZip(
      zipFiles(
        {
          'a.txt': 'hello',
          'b/c.bin': new Uint8Array([1, 2, 3]),
          'd.txt': Readable.from([Buffer.from('stre'), Buffer.from('amed')]),
          'run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
        },
        'Out',
      ),
    );
    const out = await extract(file);
    expect(fs.readFileSync(path.join(out, 'a.txt'), 'utf8')).toBe('hello');
    expect([...fs.readFileSync(path.join(out, 'b/c.bin'))]).toEqual([1, 2, 3]);
    expect(fs.readFileSync(path.join(out, 'd.txt'), 'utf8')).toBe('streamed');
    expect(fs.statSync(path.join(out, 'run.sh')).mode & 0o777).toBe(0o755);
  });

  test('entries carry the right CRC-32 (computed natively when zlib.crc32 exists)', async () => {
    const big = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    const file = await saveZip(zipFiles({ 'a.txt': 'hello', 'big.bin': big, 'streamed.bin': Readable.from([big.subarray(0, 1000), big.subarray(1000)]) }, 'Out'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- yauzl's callback API, read directly
    const yauzl = require('yauzl');
    const crcs = await new Promise<Record<string, number>>((resolve, reject) =>
      yauzl.open(file, (err: Error | null, zip: any) => {
        if (err) return reject(err);
        const found: Record<string, number> = {};
        zip.on('entry', (e: any) => (found[e.fileName] = e.crc32));
        zip.on('end', () => resolve(found));
      }),
    );
    expect(crcs).toEqual({ 'a.txt': zlib.crc32('hello'), 'big.bin': zlib.crc32(big), 'streamed.bin': zlib.crc32(big) });
  });

  test('refuses file names that would escape the folder', async () => {
    await expect(saveZip(zipFiles({ '../up.txt': 'x' }, 'Out'))).rejects.toThrow(/entry "..\/up.txt" leaves the folder/);
  });

  test('a stream of the map that fails before its turn fails the zip with its error, not the process', async () => {
    const files = { 'first.bin': Buffer.alloc(600 * 1024, 7), 'missing.txt': fs.createReadStream(path.join(work, 'no-such-file')) };
    await expect(saveZip(zipFiles(files, 'Out'))).rejects.toThrow(/ENOENT/);
  });

  test('closing the zip of a map early closes the streams it has not read', async () => {
    const later = fs.createReadStream(__filename);
    // Noise does not deflate: the zip's first bytes come out long before the writer reaches later.ts.
    const zip = zipFiles({ 'noise.bin': Readable.from([crypto.randomBytes(4 * 1024 * 1024)]), 'later.ts': later }, 'Out');
    await new Promise((resolve) => zip.once('data', resolve));
    zip.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => later.once('close', resolve)), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
    clearTimeout(timer);
    expect(later.destroyed).toBe(true);
  });

  test('a missing folder fails the stream', async () => {
    await expect(saveZip(zipDirectory(path.join(work, 'nope')))).rejects.toThrow(/ENOENT/);
  });
});
