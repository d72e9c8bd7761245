/**
 * Hostile zip archives, property-based (fast-check), through the runtime's extraction and single-file reads: random
 * bytes, cut and flipped archives, names with `..`, NUL, drive letters and backslashes, duplicate names, overlapping
 * entries, symlinks, 65,536+ entries and ZIP64; links that climb out through other links, several artifacts extracted
 * into one folder (one after the other and at once), links already in the folder, names too long for the file system,
 * data that fails its CRC-32 (the cases of issue #12). Every case must end in a success or an ArtifactSafetyError (a
 * typed JobFailed), with no file written outside the target folder (the whole sandbox is scanned after each case, after
 * writing through every link the extraction left, as a handler's writeFile would) and bounded memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import fc from 'fast-check';
import { Tally } from './tally';
import { ArtifactSafetyError } from '../../src/runtime/errors';
import { extractZip } from '../../src/runtime/zip/extract';
import { listEntries, openZip } from '../../src/runtime/zip/open';
import { openZipEntryStream, readZipEntry } from '../../src/runtime/zip/read';
import { DEFAULT_EXTRACTION_LIMITS, ExtractionLimits, resolveLimits } from '../../src/runtime/zip/safety';
import { JobFailedError } from '../../src/shared/errors';
import { centralDirectoryOffset, CraftedEntry, craftZip, forgeZip64, linkThroughLinkEntries, manyEntries, withFirstCrc, withFlippedBit } from '../support/zip-forge';

const tally = new Tally('hostile-zips');
let sandbox: string;
let inputs: string;
let caseNumber = 0;
let peakRss = 0;

beforeAll(async () => {
  sandbox = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'hostile-zips-'));
  inputs = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'hostile-zip-inputs-'));
});
afterAll(async () => {
  await fs.promises.rm(sandbox, { recursive: true, force: true });
  await fs.promises.rm(inputs, { recursive: true, force: true });
  tally.flush();
});

type ZipOutcome = { kind: 'extracted'; files: number } | { kind: 'refused'; reason: string; message: string };

/** Every path under `dir`, without following links. */
async function walk(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    found.push(full);
    if (entry.isDirectory()) found.push(...(await walk(full)));
  }
  return found;
}

function inside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Extracts `zip` into a fresh target folder of the sandbox and classifies the outcome. Anything but a success or an
 * ArtifactSafetyError is a crash; so is any path in the sandbox outside the target (or a link resolving outside).
 */
async function extract(zip: Buffer, limits: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS): Promise<ZipOutcome> {
  return (await extractAll([zip], { limits }))[0];
}

interface ExtractAllOptions {
  readonly limits?: ExtractionLimits;
  /** Extract the zips at the same time (default: one after the other). */
  readonly atOnce?: boolean;
  /** Prepares the case before extracting (links already in the target); returns the paths it made outside the target. */
  readonly prepare?: (target: string, caseDir: string) => Promise<string[]>;
  /** Checks the case before it is removed. */
  readonly inspect?: (target: string, caseDir: string) => Promise<void>;
}

/**
 * Extracts several zips into one target folder (as a handler does with several input artifacts), then writes through
 * every link left in the folder (as the handler's writeFile would), then scans the sandbox: nothing may be outside the
 * target but what `prepare` made, and no link may resolve outside.
 */
async function extractAll(zips: readonly Buffer[], options: ExtractAllOptions = {}): Promise<ZipOutcome[]> {
  const caseDir = path.join(sandbox, `case-${++caseNumber}`);
  const target = path.join(caseDir, 'out');
  await fs.promises.mkdir(caseDir);
  const files = zips.map((_, i) => path.join(caseDir, `artifact-${i}.zip`));
  await Promise.all(zips.map((zip, i) => fs.promises.writeFile(files[i], zip)));
  const prepared = new Set(await (options.prepare?.(target, caseDir) ?? Promise.resolve([])));
  try {
    const one = async (i: number): Promise<ZipOutcome> => {
      tally.cases++;
      try {
        const summary = await extractZip({ file: files[i] }, target, 'Hostile', options.limits ?? DEFAULT_EXTRACTION_LIMITS, zips[i].length);
        tally.successes++;
        return { kind: 'extracted', files: summary.files };
      } catch (error) {
        if (!(error instanceof ArtifactSafetyError) || !(error instanceof JobFailedError) || error.failureType !== 'JobFailed') {
          tally.crashes++;
          throw error;
        }
        tally.failuresReportedCorrectly++;
        return { kind: 'refused', reason: error.reason, message: error.message };
      }
    };
    const outcomes: ZipOutcome[] = [];
    if (options.atOnce) outcomes.push(...(await Promise.all(zips.map((_, i) => one(i)))));
    else for (let i = 0; i < zips.length; i++) outcomes.push(await one(i));
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    if (fs.existsSync(target)) {
      for (const found of await walk(target)) {
        if (prepared.has(found) || !(await fs.promises.lstat(found)).isSymbolicLink()) continue;
        await fs.promises.writeFile(found, 'written through a link').catch(() => undefined);
      }
    }
    for (const found of await walk(sandbox)) {
      if (found === caseDir || files.includes(found) || prepared.has(found) || inside(target, found)) continue;
      tally.crashes++;
      throw new Error(`written outside the target folder: ${found}`);
    }
    if (fs.existsSync(target)) {
      const realTarget = await fs.promises.realpath(target);
      for (const found of await walk(target)) {
        if (prepared.has(found)) continue;
        const real = await fs.promises.realpath(found).catch(() => undefined); // dangling links are written through above
        if (real !== undefined && !inside(realTarget, real)) {
          tally.crashes++;
          throw new Error(`${found} resolves outside the target folder: ${real}`);
        }
      }
    }
    await options.inspect?.(target, caseDir);
    return outcomes;
  } finally {
    await fs.promises.rm(caseDir, { recursive: true, force: true });
  }
}

const validZip = craftZip([
  { name: 'app.json', data: Buffer.from('{"name":"demo"}') },
  { name: 'src/', mode: 0o040755 },
  { name: 'src/index.js', data: Buffer.from('console.log("hello");\n'.repeat(20)) },
  { name: 'bin/run', data: Buffer.from('#!/bin/sh\n'), mode: 0o100755 },
]);

const segment = fc.constantFrom('a', 'b', 'src', '..', '.', '', 'C:', 'c:\\x', '\\..\\', 'nul\0x', 'ü', '%2e%2e', '~', 'x'.repeat(255), ' ');
const entryName = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.constantFrom('/', '\\'), fc.boolean(), fc.boolean())
  .map(([segments, separator, leading, trailing]) => `${leading ? separator : ''}${segments.join(separator)}${trailing ? '/' : ''}`);

/** A small pool of names, so that duplicates (a file and a folder of one name, two files) are frequent. */
const craftedEntry: fc.Arbitrary<CraftedEntry> = fc.oneof(
  fc.record({ name: fc.oneof(entryName, fc.constantFrom('a', 'a/', 'a/b', 'b', 'link')), data: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) }),
  fc.record({
    name: fc.constantFrom('link', 'a', 'a/link', 'b/c'),
    data: fc
      .constantFrom('..', '../..', '/etc', 'a', '.', 'a/../..', 'link', 'b', 'C:\\Windows', '', 'a/link/../../x', 'link/../x', '../a/link/../../x')
      .map((t) => Buffer.from(t)),
    mode: fc.constant(0o120777),
  }),
  fc.record({ name: fc.constantFrom('a/', 'b/', 'link/'), mode: fc.constant(0o040755) }),
);

const craftedZip = fc
  .array(craftedEntry, { minLength: 1, maxLength: 8 })
  .chain((entries) =>
    fc.tuple(
      fc.constant(entries),
      fc.array(fc.tuple(fc.nat({ max: entries.length - 1 }), fc.nat({ max: entries.length - 1 })), { maxLength: 2 }),
    ),
  )
  .map(([entries, overlaps]) => {
    const withOverlaps: CraftedEntry[] = [...entries];
    for (const [from, to] of overlaps) {
      if (from < to) withOverlaps[to] = { name: withOverlaps[to].name, sameDataAs: from };
    }
    // sameDataAs must point to an entry with its own data
    return withOverlaps.map((e, i) => (e.sameDataAs !== undefined && withOverlaps[e.sameDataAs].sameDataAs !== undefined ? entries[i] : e));
  })
  .map(craftZip);

/** A valid zip with bytes flipped and/or cut short anywhere (the central directory included). */
const damagedZip = fc
  .record({
    flips: fc.array(fc.tuple(fc.nat({ max: validZip.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat({ max: validZip.length }), { nil: undefined }),
  })
  .map(({ flips, cut }) => {
    const zip = Buffer.from(validZip);
    for (const [at, value] of flips) zip[at] = value;
    return cut === undefined ? zip : zip.subarray(0, cut);
  });

/** Random bytes, sometimes dressed up with zip signatures so the parser gets further. */
const randomBytes = fc
  .tuple(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom('none', 'local', 'end'))
  .map(([bytes, dress]) => {
    const body = Buffer.from(bytes);
    if (dress === 'local') return Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), body]);
    if (dress === 'end') return Buffer.concat([body, Buffer.from('PK\x05\x06', 'latin1'), body.subarray(0, 18)]);
    return body;
  });

describe('every hostile zip ends in a success or an ArtifactSafetyError, writing nothing outside the folder', () => {
  test('random bytes', async () => {
    await fc.assert(fc.asyncProperty(randomBytes, async (zip) => void (await extract(zip))), { numRuns: 150 });
  });

  test('a valid zip with flipped bytes or cut anywhere', async () => {
    await fc.assert(fc.asyncProperty(damagedZip, async (zip) => void (await extract(zip))), { numRuns: 200 });
  });

  test('crafted entries: .., NUL, drive letters, backslashes, duplicate names, overlapping entries, symlinks', async () => {
    await fc.assert(fc.asyncProperty(craftedZip, async (zip) => void (await extract(zip))), { numRuns: 250 });
  });

  test('pairs of crafted zips extracted into one folder, one after the other or at once', async () => {
    await fc.assert(
      fc.asyncProperty(craftedZip, craftedZip, fc.boolean(), async (first, second, atOnce) => void (await extractAll([first, second], { atOnce }))),
      { numRuns: 100 },
    );
  });
});

describe('links that lead out through other links (issue #12)', () => {
  const escaping = () => craftZip(linkThroughLinkEntries(1, 'PWNED.txt'));

  test('a link through another link of the archive (sub/l2 -> ., l1 -> sub/l2/../… ../PWNED.txt) is refused, and no link is left behind', async () => {
    const [outcome] = await extractAll([escaping()], {
      inspect: async (target) => {
        expect((await walk(target)).filter((found) => fs.lstatSync(found).isSymbolicLink())).toEqual([]);
      },
    });
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'unsafe-symlink', message: expect.stringMatching(/symlink "l1" -> .* goes up \(\.\.\) after a name/) });
  });

  test('a file of a second artifact is never written through a link the first one would leave (link, then file)', async () => {
    const outcomes = await extractAll([escaping(), craftZip([{ name: 'l1', data: Buffer.from('pwned') }])]);
    expect(outcomes.map((o) => o.kind)).toEqual(['refused', 'extracted']);
  });

  test('the two artifacts extracted at once into one folder write nothing outside it', async () => {
    const outcomes = await extractAll([escaping(), craftZip([{ name: 'l1', data: Buffer.from('pwned') }])], { atOnce: true });
    expect(outcomes[0]).toMatchObject({ kind: 'refused', reason: 'unsafe-symlink' });
  });

  test('a link the archive would make a folder, then files of a second artifact inside it: nothing is written through the link', async () => {
    const links = craftZip([
      { name: 'real/', mode: 0o040755 },
      { name: 'docs', data: Buffer.from('real'), mode: 0o120777 },
    ]);
    const files = craftZip([{ name: 'docs/readme.txt', data: Buffer.from('hello') }]);
    const outcomes = await extractAll([links, files], {
      inspect: async (target) => expect(fs.existsSync(path.join(target, 'real', 'readme.txt'))).toBe(false),
    });
    expect(outcomes[1]).toMatchObject({ kind: 'refused', reason: 'unsafe-symlink', message: expect.stringMatching(/lies inside "docs", which is a symlink in the folder already/) });
  });

  test('a folder link already in the folder (left by the handler) is not followed by the files of an artifact', async () => {
    const [outcome] = await extractAll([craftZip([{ name: 'out/x.txt', data: Buffer.from('pwned') }])], {
      prepare: async (target, caseDir) => {
        const outside = path.join(caseDir, 'outside');
        await fs.promises.mkdir(outside);
        await fs.promises.mkdir(target);
        await fs.promises.symlink('../outside', path.join(target, 'out'));
        return [outside, path.join(target, 'out')];
      },
    });
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'unsafe-symlink' });
  });

  test('a file of an artifact replaces a link at its path and leaves the link\'s destination untouched', async () => {
    let victimAfter = '';
    let replaced = false;
    const [outcome] = await extractAll([craftZip([{ name: 'f', data: Buffer.from('new') }])], {
      prepare: async (target, caseDir) => {
        const victim = path.join(caseDir, 'victim.txt');
        await fs.promises.writeFile(victim, 'original');
        await fs.promises.mkdir(target);
        await fs.promises.symlink('../victim.txt', path.join(target, 'f'));
        return [victim];
      },
      inspect: async (target, caseDir) => {
        victimAfter = await fs.promises.readFile(path.join(caseDir, 'victim.txt'), 'utf8');
        const stats = await fs.promises.lstat(path.join(target, 'f'));
        replaced = stats.isFile() && (await fs.promises.readFile(path.join(target, 'f'), 'utf8')) === 'new';
      },
    });
    expect(outcome.kind).toBe('extracted');
    expect({ victimAfter, replaced }).toEqual({ victimAfter: 'original', replaced: true });
  });

  test('a link of an artifact that leads outside through a link already in the folder is refused', async () => {
    const [outcome] = await extractAll([craftZip([{ name: 'x', data: Buffer.from('dir/secret'), mode: 0o120777 }])], {
      prepare: async (target, caseDir) => {
        const elsewhere = path.join(caseDir, 'elsewhere');
        await fs.promises.mkdir(elsewhere);
        await fs.promises.mkdir(target);
        await fs.promises.symlink('../elsewhere', path.join(target, 'dir'));
        return [elsewhere, path.join(target, 'dir')];
      },
    });
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'unsafe-symlink', message: expect.stringMatching(/resolves outside the folder through links already in it/) });
  });

  test('links whose .. all come first stay accepted (node_modules/.bin style)', async () => {
    const zip = craftZip([
      { name: 'node_modules/tool/bin/tool.js', data: Buffer.from('#!/usr/bin/env node\n'), mode: 0o100755 },
      { name: 'node_modules/.bin/tool', data: Buffer.from('../tool/bin/tool.js'), mode: 0o120777 },
      { name: 'here', data: Buffer.from('.'), mode: 0o120777 },
      { name: 'lib/current', data: Buffer.from('../node_modules/tool'), mode: 0o120777 },
    ]);
    expect(await extract(zip)).toEqual({ kind: 'extracted', files: 1 }); // and 3 links
  });
});

describe('names too long for the file system (issue #12)', () => {
  test('eight 65,000-byte entry names are refused before any per-name work, naming the entry cut short', async () => {
    const deep = (i: number) => `${i}/${'a/'.repeat(32_499)}f`;
    const outcome = await extract(craftZip(Array.from({ length: 8 }, (_, i) => ({ name: deep(i), data: Buffer.from('x'), store: true }))));
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'unsafe-path', message: expect.stringMatching(/^Artifact Hostile: entry "0\/a\/a\/.*\.\.\. \(65001 characters\)" has a name longer than 4096 bytes/) });
    expect((outcome as { message: string }).message.length).toBeLessThan(600);
  });

  test('a path segment longer than 255 bytes is refused as an unsafe path', async () => {
    expect(await extract(craftZip([{ name: `dir/${'s'.repeat(256)}.txt`, data: Buffer.from('x') }]))).toMatchObject({
      kind: 'refused',
      reason: 'unsafe-path',
      message: expect.stringMatching(/has a path segment longer than 255 bytes \(260\)/),
    });
  });

  test('a name within 4096 bytes that is too long once joined to the folder is refused as an unsafe path', async () => {
    expect(await extract(craftZip([{ name: `${'folder-ten/'.repeat(370)}f`, data: Buffer.from('x') }]))).toMatchObject({
      kind: 'refused',
      reason: 'unsafe-path',
      message: expect.stringMatching(/path is too long for the file system/),
    });
  });

  test('a long deep name that fits (300 folders, 3,301 bytes) is extracted', async () => {
    expect(await extract(craftZip([{ name: `${'folder-ten/'.repeat(300)}f`, data: Buffer.from('x') }]))).toEqual({ kind: 'extracted', files: 1 });
  });
});

describe('data that fails its CRC-32 (issue #12)', () => {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(4));
  const big = Buffer.alloc(600 * 1024, 'incompressible? no, but stored: ');

  test('a stored entry with one flipped bit is refused as corrupt, naming the entry', async () => {
    const zip = withFlippedBit(craftZip([{ name: 'notes.txt', data: text, store: true }]), text, 13);
    expect(await extract(zip)).toMatchObject({ kind: 'refused', reason: 'corrupt', message: expect.stringMatching(/entry "notes.txt" fails its CRC-32 check/) });
  });

  test('a big stored entry with one flipped bit is refused on the streaming path, and no partial file is left', async () => {
    const zip = withFlippedBit(craftZip([{ name: 'big.bin', data: big, store: true }]), big.subarray(0, 64), 5);
    let left = true;
    const [outcome] = await extractAll([zip], { inspect: async (target) => void (left = fs.existsSync(path.join(target, 'big.bin'))) });
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'corrupt', message: expect.stringMatching(/entry "big.bin" fails its CRC-32 check/) });
    expect(left).toBe(false);
  });

  test('a deflated entry with a wrong CRC-32 is refused as corrupt', async () => {
    const zip = withFirstCrc(craftZip([{ name: 'app.js', data: text }]), 0x12345678);
    expect(await extract(zip)).toMatchObject({ kind: 'refused', reason: 'corrupt', message: expect.stringMatching(/"app.js" fails its CRC-32 check \(the data gives 0x[0-9a-f]{8}, the zip says 0x12345678\)/) });
  });

  test('readZipEntry refuses an entry that fails its CRC-32', async () => {
    tally.cases++;
    const file = await writeZip(withFirstCrc(craftZip([{ name: 'app.json', data: text }]), 1));
    await expect(readZipEntry({ file }, 'app.json', 'Hostile', DEFAULT_EXTRACTION_LIMITS)).rejects.toMatchObject({ reason: 'corrupt', entry: 'app.json' });
    tally.failuresReportedCorrectly++;
  });

  test('openZipEntryStream fails its stream when the entry fails its CRC-32', async () => {
    tally.cases++;
    const file = await writeZip(withFlippedBit(craftZip([{ name: 'big.bin', data: big, store: true }]), big.subarray(0, 64), 1));
    const stream = await openZipEntryStream({ file }, 'big.bin', 'Hostile', DEFAULT_EXTRACTION_LIMITS);
    await expect((async () => { for await (const chunk of stream) void chunk; })()).rejects.toMatchObject({ reason: 'corrupt', message: expect.stringMatching(/CRC-32/) });
    tally.failuresReportedCorrectly++;
  });
});

describe('readZipEntry memory (issue #12)', () => {
  test('an entry declared larger than maxBytes is refused before it is read, pointing to openFile and extractTo', async () => {
    tally.cases++;
    // 4 MiB of zeros (the audit's 600 MB at 118:1 was within the ratio limit; here the limit is raised instead)
    const zeros = zlib.deflateRawSync(Buffer.alloc(4 * 1024 * 1024));
    const file = await writeZip(craftZip([{ name: 'package.json', deflated: { raw: zeros, crc32: zlib.crc32(Buffer.alloc(4 * 1024 * 1024)), size: 4 * 1024 * 1024 } }]));
    const before = process.memoryUsage().rss;
    await expect(readZipEntry({ file }, 'package.json', 'Hostile', resolveLimits({ maxCompressionRatio: 5000 }), 1024 * 1024)).rejects.toMatchObject({
      reason: 'too-large',
      message: expect.stringMatching(/"package.json" is larger than 1048576 bytes, the most readFile reads into memory \(stream it with openFile\(\), or extract it with extractTo\(\)/),
    });
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    tally.failuresReportedCorrectly++;
  });

  test('an entry whose header understates its size is stopped while reading', async () => {
    tally.cases++;
    const file = await writeZip(craftZip([{ name: 'liar.txt', data: Buffer.alloc(10_000, 'x'), declaredSize: 100 }]));
    await expect(readZipEntry({ file }, 'liar.txt', 'Hostile', DEFAULT_EXTRACTION_LIMITS, 1000)).rejects.toBeInstanceOf(ArtifactSafetyError);
    tally.failuresReportedCorrectly++;
  });
});

describe('specific hostile zips', () => {
  test('a truncated central directory is refused as corrupt', async () => {
    const cut = validZip.subarray(0, centralDirectoryOffset(validZip) + 20);
    expect(await extract(cut)).toMatchObject({ kind: 'refused', reason: 'corrupt' });
  });

  test('a name with a NUL is refused as an unsafe path', async () => {
    expect(await extract(craftZip([{ name: 'ok.txt\0../../evil', data: Buffer.from('x') }]))).toMatchObject({ kind: 'refused', reason: 'unsafe-path' });
  });

  test('an entry inside a path the archive makes a file is refused as an unsafe path', async () => {
    const outcome = await extract(craftZip([{ name: 'a', data: Buffer.from('file') }, { name: 'a/b', data: Buffer.from('inside') }]));
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'unsafe-path', message: expect.stringMatching(/"a\/b" lies inside "a", which the archive makes a file/) });
  });

  test('an entry inside a path the archive makes a symlink is refused, so nothing is written through the link', async () => {
    const outcome = await extract(
      craftZip([
        { name: 'dir/', mode: 0o040755 },
        { name: 'a', data: Buffer.from('dir'), mode: 0o120777 },
        { name: 'a/link', data: Buffer.from('..'), mode: 0o120777 },
      ]),
    );
    expect(outcome).toMatchObject({ kind: 'refused', reason: 'unsafe-path', message: expect.stringMatching(/which the archive makes a symlink/) });
  });

  test('two files of the same name: the extraction ends cleanly', async () => {
    const outcome = await extract(craftZip([{ name: 'same.txt', data: Buffer.from('first') }, { name: 'same.txt', data: Buffer.from('second') }]));
    expect(['extracted', 'refused']).toContain(outcome.kind);
  });

  test('an entry whose sizes live in a ZIP64 extra field is read', async () => {
    const zip = forgeZip64([{ name: 'big-header.txt', data: Buffer.from('zip64 sizes'), zip64Sizes: true }, { name: 'plain.txt', data: Buffer.from('plain') }]);
    expect(await extract(zip)).toEqual({ kind: 'extracted', files: 2 });
    expect((await readZipEntry({ file: await writeZip(zip) }, 'big-header.txt', 'Hostile', DEFAULT_EXTRACTION_LIMITS)).toString()).toBe('zip64 sizes');
  });

  describe('65,537 entries (ZIP64 end records)', () => {
    const many = forgeZip64(manyEntries(65_537));

    test('are all listed from the central directory', async () => {
      const zip = await openZip({ file: await writeZip(many) }, 'Hostile');
      try {
        const entries = await listEntries(zip, 'Hostile');
        expect(entries).toHaveLength(65_537);
        expect(entries[65_536].info.path).toBe('d16/f0065536');
      } finally {
        zip.close();
      }
    });

    test('are refused by a lower entry limit from the end record, before any entry is listed', async () => {
      const outcome = await extract(many, resolveLimits({ maxEntries: 65_536 }));
      expect(outcome).toMatchObject({ kind: 'refused', reason: 'too-many-entries', message: expect.stringMatching(/has 65537 entries/) });
    });
  });

  test('a ZIP64 end record pointing past the end of the file is refused as corrupt', async () => {
    const zip = forgeZip64(manyEntries(3));
    const locator = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
    zip.writeBigUInt64LE(BigInt(zip.length + 1000), locator + 8);
    expect(await extract(zip)).toMatchObject({ kind: 'refused', reason: 'corrupt' });
  });

  test('memory stays bounded over all the cases (peak RSS under 1 GiB)', () => {
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(1024 ** 3);
  });
});

async function writeZip(zip: Buffer): Promise<string> {
  const file = path.join(inputs, `zip-${++caseNumber}.zip`);
  await fs.promises.writeFile(file, zip);
  return file;
}
