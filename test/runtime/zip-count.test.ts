/**
 * The entry-count pre-check: the count of the end-of-central-directory record (or of the ZIP64 one) is checked
 * against `maxEntries` as soon as a zip is opened, before any entry is listed. The zips here declare more entries
 * than their central directory holds: listing them would fail as corrupt, so a 'too-many-entries' refusal shows the
 * count was refused first, from the end record alone.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArtifactSafetyError } from '../../src/runtime/errors';
import { extractZip } from '../../src/runtime/zip/extract';
import { openZip } from '../../src/runtime/zip/open';
import { readZipEntry } from '../../src/runtime/zip/read';
import { resolveLimits } from '../../src/runtime/zip/safety';
import { craftZip, forgeZip64, manyEntries } from '../support/zip-forge';

let work: string;
let cases = 0;
beforeAll(async () => {
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'zip-count-'));
});
afterAll(async () => {
  await fs.promises.rm(work, { recursive: true, force: true });
});

async function writeZip(zip: Buffer): Promise<string> {
  const file = path.join(work, `case-${++cases}.zip`);
  await fs.promises.writeFile(file, zip);
  return file;
}

const END = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const END64 = Buffer.from([0x50, 0x4b, 0x06, 0x06]);

/** A 3-entry zip whose classic end record declares `count` entries (on this disk and in all). */
function classicDeclaring(count: number): Buffer {
  const zip = craftZip([
    { name: 'a.txt', data: Buffer.from('a') },
    { name: 'b.txt', data: Buffer.from('b') },
    { name: 'c.txt', data: Buffer.from('c') },
  ]);
  const end = zip.lastIndexOf(END);
  zip.writeUInt16LE(count, end + 8);
  zip.writeUInt16LE(count, end + 10);
  return zip;
}

/** A 3-entry ZIP64 zip whose ZIP64 end record declares `count` entries. */
function zip64Declaring(count: number): Buffer {
  const zip = forgeZip64(manyEntries(3));
  const end64 = zip.lastIndexOf(END64);
  zip.writeBigUInt64LE(BigInt(count), end64 + 24);
  zip.writeBigUInt64LE(BigInt(count), end64 + 32);
  return zip;
}

async function extract(zip: Buffer, maxEntries: number): Promise<unknown> {
  const file = await writeZip(zip);
  return extractZip({ file }, path.join(work, `out-${cases}`), 'Source', resolveLimits({ maxEntries }), zip.length).catch((e) => e);
}

describe('the entry count of the end record is refused before any entry is listed', () => {
  test('a ZIP64 end record declaring 65,537 entries, over a limit of 65,536', async () => {
    const error = await extract(zip64Declaring(65_537), 65_536);
    expect(error).toBeInstanceOf(ArtifactSafetyError);
    expect(error).toMatchObject({
      reason: 'too-many-entries',
      failureType: 'JobFailed',
      message: 'Artifact Source has 65537 entries, more than the limit of 65536 (raise maxEntries if it is legitimate)',
    });
  });

  test('a ZIP64 end record declaring 2^53 entries', async () => {
    expect(await extract(zip64Declaring(2 ** 53), 100_000)).toMatchObject({ reason: 'too-many-entries', message: expect.stringMatching(/has 9007199254740992 entries/) });
  });

  test('a classic end record declaring 60,000 entries, over a limit of 1,000', async () => {
    expect(await extract(classicDeclaring(60_000), 1_000)).toMatchObject({ reason: 'too-many-entries', message: expect.stringMatching(/has 60000 entries/) });
  });

  test('reading one file is refused the same way', async () => {
    const file = await writeZip(zip64Declaring(65_537));
    await expect(readZipEntry({ file }, 'f0000000', 'Source', resolveLimits({ maxEntries: 65_536 }))).rejects.toMatchObject({ reason: 'too-many-entries' });
  });

  test('opening without limits leaves the count to the listing', async () => {
    const file = await writeZip(zip64Declaring(65_537));
    const zip = await openZip({ file }, 'Source');
    expect(zip.entryCount).toBe(65_537);
    zip.close();
  });
});

describe('counts within the limit', () => {
  test('a zip with exactly maxEntries entries is extracted', async () => {
    const zip = forgeZip64(manyEntries(3));
    expect(await extract(zip, 3)).toEqual({ files: 3, directories: 0, symlinks: 0, bytes: 0 });
  });

  test('an end record declaring more entries than the directory holds, within the limit, is refused as corrupt by the listing', async () => {
    expect(await extract(zip64Declaring(50), 100)).toMatchObject({ reason: 'corrupt' });
  });
});
