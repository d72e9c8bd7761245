/**
 * Output artifacts come from the handler under test, so runJob extracts them with the runtime's safe extraction: what
 * jobHandler would refuse in the next action (a link or a path leading out of the folder) is refused here too, and
 * ordinary outputs (folders, executables, links inside) still come back whole.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import * as yazl from 'yazl';
import { artifactS3, succeed, type PlainEvent } from './fixtures/plain-handler';
import { runJob } from '../../src/local/run-job';

/** One zip entry as a handler might write it: a file (optionally executable), or a symlink whose content is its target. */
type Entry = { readonly name: string; readonly content: string; readonly mode?: number };

const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/**
 * yazl refuses names with `..` itself, so such a name is written as a same-length stand-in (`__/`) and patched in both
 * headers afterwards (names are outside the CRC), as a hostile or buggy zip writer would leave it.
 */
async function zipOf(entries: readonly Entry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(Buffer.from(e.content), e.name.split('../').join('__/'), { mode: e.mode ?? S_IFREG | 0o644 });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes = Buffer.concat(chunks);
  for (const e of entries.filter((entry) => entry.name.includes('../'))) {
    bytes = Buffer.from(bytes.toString('latin1').split(e.name.split('../').join('__/')).join(e.name), 'latin1');
  }
  return bytes;
}

/** A handler written straight against the SDK that uploads `entries` as its output artifact, then succeeds. */
function uploading(entries: readonly Entry[]) {
  return async (raw: unknown) => {
    const event = raw as PlainEvent;
    const { s3Location } = event['CodePipeline.job'].data.outputArtifacts[0].location;
    await artifactS3(event).send(new PutObjectCommand({ Bucket: s3Location.bucketName, Key: s3Location.objectKey, Body: await zipOf(entries) }));
    await succeed(event);
  };
}

function outputRoot(): string {
  // A parent of its own, so that "nothing outside the artifact folder" can be checked by listing it.
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'run-job-outputs-')), 'outputs');
}

describe('runJob extracts output artifacts safely', () => {
  test('an output holding a symlink that leads out of the folder is refused with a warning, and no folder is left for it', async () => {
    const root = outputRoot();
    const outcome = await runJob({
      handler: uploading([
        { name: 'readme.txt', content: 'hello' },
        { name: 'passwd', content: '../../../../../../etc/passwd', mode: S_IFLNK | 0o777 },
      ]),
      outputs: ['Out'],
      outputDirectory: root,
    });
    expect(outcome.status).toBe('Succeeded');
    expect(outcome.outputs.Out).toBeUndefined();
    expect(outcome.warnings).toEqual([expect.stringMatching(/^output artifact Out was refused \(.*symlink \"passwd\" -> .* points outside the folder/)]);
    expect(fs.existsSync(path.join(root, 'Out'))).toBe(false);
  });

  test('an output holding an absolute symlink is refused as well', async () => {
    const root = outputRoot();
    const outcome = await runJob({
      handler: uploading([{ name: 'hosts', content: '/etc/hosts', mode: S_IFLNK | 0o777 }]),
      outputs: ['Out'],
      outputDirectory: root,
    });
    expect(outcome.outputs.Out).toBeUndefined();
    expect(outcome.warnings).toEqual([expect.stringMatching(/^output artifact Out was refused \(.*hosts/)]);
  });

  test('an output with an entry named ../ is refused and writes nothing beside the output folder', async () => {
    const root = outputRoot();
    const outcome = await runJob({
      handler: uploading([{ name: '../../escaped.txt', content: 'outside' }]),
      outputs: ['Out'],
      outputDirectory: root,
    });
    expect(outcome.outputs.Out).toBeUndefined();
    expect(outcome.warnings).toEqual([expect.stringMatching(/^output artifact Out was refused \(.*\.\.\/\.\.\/escaped\.txt/)]);
    expect(fs.readdirSync(path.dirname(root)).filter((name) => name !== 'outputs')).toEqual([]);
    expect(fs.existsSync(path.join(root, 'Out'))).toBe(false);
  });

  test('an ordinary output comes back whole: nested files, the executable bit and a link that stays inside', async () => {
    const outcome = await runJob({
      handler: uploading([
        { name: 'bin/run.sh', content: '#!/bin/sh\necho ok\n', mode: S_IFREG | 0o755 },
        { name: 'data/values.json', content: '{"a":1}' },
        { name: 'current', content: 'data/values.json', mode: S_IFLNK | 0o777 },
      ]),
      outputs: ['Out'],
      outputDirectory: outputRoot(),
    });
    expect(outcome).toMatchObject({ status: 'Succeeded', warnings: [] });
    const out = outcome.outputs.Out;
    expect(fs.readFileSync(path.join(out, 'data/values.json'), 'utf8')).toBe('{"a":1}');
    expect(fs.statSync(path.join(out, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    expect(fs.readlinkSync(path.join(out, 'current'))).toBe('data/values.json');
    expect(fs.readFileSync(path.join(out, 'current'), 'utf8')).toBe('{"a":1}');
  });
});
