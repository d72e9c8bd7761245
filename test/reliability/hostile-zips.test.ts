/**
 * Hostile zip archives, property-based (fast-check), through the runtime's extraction and single-file reads: random
 * bytes, cut and flipped archives, names with `..`, NUL, drive letters and backslashes, duplicate names, overlapping
 * entries, symlinks, 65,536+ entries and ZIP64. Every case must end in a success or an ArtifactSafetyError (a typed
 * JobFailed), with no file written outside the target folder (the whole sandbox is scanned after each case) and
 * bounded memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { Tally } from './tally';
import { centralDirectoryOffset, forgeZip64, manyEntries } from './zip-forge';
import { extractZip, listEntries, openZip, readZipEntry } from '../../src/runtime/zip-read';
import { ArtifactSafetyError, DEFAULT_EXTRACTION_LIMITS, ExtractionLimits, resolveLimits } from '../../src/runtime/zip-safety';
import { JobFailedError } from '../../src/shared/errors';
import { CraftedEntry, craftZip } from '../runtime/zip-craft';

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
  tally.cases++;
  const caseDir = path.join(sandbox, `case-${++caseNumber}`);
  const target = path.join(caseDir, 'out');
  const file = path.join(caseDir, 'artifact.zip');
  await fs.promises.mkdir(caseDir);
  await fs.promises.writeFile(file, zip);
  try {
    let outcome: ZipOutcome;
    try {
      const summary = await extractZip({ file }, target, 'Hostile', limits, zip.length);
      outcome = { kind: 'extracted', files: summary.files };
      tally.successes++;
    } catch (error) {
      if (!(error instanceof ArtifactSafetyError) || !(error instanceof JobFailedError) || error.failureType !== 'JobFailed') {
        tally.crashes++;
        throw error;
      }
      outcome = { kind: 'refused', reason: error.reason, message: error.message };
      tally.failuresReportedCorrectly++;
    }
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    for (const found of await walk(sandbox)) {
      if (found === caseDir || found === file || inside(target, found)) continue;
      tally.crashes++;
      throw new Error(`written outside the target folder: ${found}`);
    }
    if (fs.existsSync(target)) {
      const realTarget = await fs.promises.realpath(target);
      for (const found of await walk(target)) {
        const real = await fs.promises.realpath(found).catch(() => undefined); // dangling links stay inside
        if (real !== undefined && !inside(realTarget, real)) {
          tally.crashes++;
          throw new Error(`${found} resolves outside the target folder: ${real}`);
        }
      }
    }
    return outcome;
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
    data: fc.constantFrom('..', '../..', '/etc', 'a', '.', 'a/../..', 'link', 'b', 'C:\\Windows', '').map((t) => Buffer.from(t)),
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
