/**
 * Artifacts over the wire: whole jobs through jobHandler with the real @aws-sdk/client-s3 and client-codepipeline,
 * against the job-API emulator and each S3 backend (the embedded server and moto), with the same tests.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { JobApiEmulator, JobRecord } from '../../src/local/job-api-emulator';
import { jobHandler, PipelineJob } from '../../src/runtime';
import { extractZip } from '../../src/runtime/zip/extract';
import { DEFAULT_EXTRACTION_LIMITS } from '../../src/runtime/zip/safety';
import { EventOptions, jobEvent } from '../support/job-event';
import { FAKE_SESSION_CREDENTIALS, S3Backend, s3Backends, s3Client, startEmbeddedS3, startJobApi } from '../support/servers';
import { captureLogs, lambdaEnvironment } from '../support/wire-helpers';
import { craftZip, linkThroughLinkEntries, oneGibOfZerosDeflated, withFlippedBit } from '../support/zip-forge';

const BUCKET = 'artifacts';
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

let jobApi: JobApiEmulator;
let work: string;

beforeAll(async () => {
  jobApi = await startJobApi();
  work = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'artifacts-wire-'));
});

afterAll(async () => {
  await jobApi.close();
  await fs.promises.rm(work, { recursive: true, force: true });
});

let keyCounter = 0;
/** Opaque keys without a .zip suffix, like CodePipeline's. */
function newKey(artifact: string): string {
  keyCounter++;
  return `MyPipeline/${artifact.slice(0, 10)}/${keyCounter.toString(36).padStart(7, 'x')}`;
}

describe.each(s3Backends)('artifacts on %s S3', (_name, startS3) => {
  let s3: S3Backend;
  let client: S3Client;
  let restoreEnvironment: () => void;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket(BUCKET);
    client = s3Client(s3.endpoint);
    restoreEnvironment = lambdaEnvironment({ codePipeline: jobApi.endpoint, s3: s3.endpoint });
  });

  afterAll(async () => {
    restoreEnvironment();
    client.destroy();
    await s3.close();
  });

  async function putArtifact(artifact: string, zip: Buffer): Promise<string> {
    const key = newKey(artifact);
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: zip }));
    return key;
  }

  async function downloadAndExtract(key: string): Promise<string> {
    const file = path.join(work, `${key.replace(/\W/g, '_')}.zip`);
    const response = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    await pipeline(response.Body as NodeJS.ReadableStream, fs.createWriteStream(file));
    const out = path.join(work, `${key.replace(/\W/g, '_')}-out`);
    await extractZip({ file }, out, 'check', DEFAULT_EXTRACTION_LIMITS, fs.statSync(file).size);
    return out;
  }

  async function run(handler: (event: unknown, context?: any) => Promise<void>, options: EventOptions) {
    const event = jobEvent({ bucket: BUCKET, ...options });
    const jobId: string = event['CodePipeline.job'].id;
    jobApi.registerJob(jobId);
    const { logs, text } = await captureLogs(() => handler(event, { awsRequestId: 'r', getRemainingTimeInMillis: () => 60_000 }));
    const job = jobApi.job(jobId) as JobRecord;
    return { job, logs, text, last: job.results[job.results.length - 1] };
  }

  const sourceZip = () =>
    craftZip([
      { name: 'app.json', data: Buffer.from('{"name":"demo","version":"1.2.3"}') },
      { name: 'bin/', mode: 0o040755 },
      { name: 'bin/start.sh', data: Buffer.from('#!/bin/sh\necho start\n'), mode: 0o100755 },
      { name: 'README.md', data: Buffer.from('# demo\n') },
    ]);

  test('a whole job: input extracted, output uploaded, variables reported', async () => {
    const input = await putArtifact('Source', sourceZip());
    const output = newKey('Out');
    const handler = jobHandler({}, async (job) => {
      const src = await job.inputArtifact('Source').extractTo();
      const app = JSON.parse(fs.readFileSync(path.join(src, 'app.json'), 'utf8'));
      const outDir = path.join(src, 'bin');
      fs.writeFileSync(path.join(outDir, 'VERSION'), app.version);
      await job.outputArtifact('Out').uploadDirectory(outDir);
      return { outputVariables: { version: app.version }, summary: `built ${app.name}` };
    });
    const { job, last } = await run(handler, { inputs: { Source: input }, outputs: { Out: output } });
    expect(job.status).toBe('Succeeded');
    expect(last.outputVariables).toEqual({ version: '1.2.3' });
    const out = await downloadAndExtract(output);
    expect(fs.readdirSync(out).sort()).toEqual(['VERSION', 'start.sh']);
    expect(fs.readFileSync(path.join(out, 'VERSION'), 'utf8')).toBe('1.2.3');
    expect(fs.statSync(path.join(out, 'start.sh')).mode & 0o777).toBe(0o755);
  });

  test('extractTo keeps executable bits and removes its temporary folder after the invocation', async () => {
    const input = await putArtifact('Source', sourceZip());
    let folder = '';
    let mode = 0;
    const { job } = await run(
      jobHandler({}, async (j) => {
        folder = await j.inputArtifact().extractTo();
        mode = fs.statSync(path.join(folder, 'bin/start.sh')).mode & 0o777;
      }),
      { inputs: { Source: input } },
    );
    expect(job.status).toBe('Succeeded');
    expect(mode).toBe(0o755);
    expect(fs.existsSync(folder)).toBe(false);
  });

  test('extractTo into a given folder leaves the folder in place', async () => {
    const input = await putArtifact('Source', sourceZip());
    const target = path.join(work, `given-${keyCounter}`);
    await run(
      jobHandler({}, async (j) => {
        await j.inputArtifact().extractTo(target);
      }),
      { inputs: { Source: input } },
    );
    expect(fs.readFileSync(path.join(target, 'README.md'), 'utf8')).toBe('# demo\n');
  });

  test('readFile reads one file, listing and streaming work without extracting', async () => {
    const input = await putArtifact('Source', sourceZip());
    const seen: Record<string, unknown> = {};
    const { job } = await run(
      jobHandler({}, async (j) => {
        const artifact = j.inputArtifact('Source');
        seen.text = await artifact.readFile('app.json', 'utf8');
        seen.bytes = (await artifact.readFile('README.md')).length;
        seen.list = (await artifact.list()).map((e) => `${e.kind}:${e.path}:${e.mode?.toString(8) ?? '-'}`);
        const chunks: Buffer[] = [];
        for await (const chunk of await artifact.openFile('bin/start.sh')) chunks.push(chunk as Buffer);
        seen.streamed = Buffer.concat(chunks).toString();
        seen.zipSize = await artifact.zipSize();
      }),
      { inputs: { Source: input } },
    );
    expect(job.status).toBe('Succeeded');
    expect(seen).toEqual({
      text: '{"name":"demo","version":"1.2.3"}',
      bytes: 7,
      list: ['file:app.json:644', 'directory:bin/:755', 'file:bin/start.sh:755', 'file:README.md:644'],
      streamed: '#!/bin/sh\necho start\n',
      zipSize: sourceZip().length,
    });
  });

  test('readFile fetches only ranges of a big artifact, never the whole object', async () => {
    const big = randomBytes(6 * 1024 * 1024); // incompressible: the zip is > 6 MB
    const input = await putArtifact('Source', craftZip([{ name: 'blob.bin', data: big, store: true }, { name: 'app.json', data: Buffer.from('{"x":1}') }]));
    const before = 'server' in s3 ? (s3 as any).server.requests.length : 0;
    let text = '';
    await run(
      jobHandler({}, async (j) => {
        text = await j.inputArtifact().readFile('app.json', 'utf8');
      }),
      { inputs: { Source: input } },
    );
    expect(text).toBe('{"x":1}');
    if ('server' in s3) {
      const gets = ((s3 as any).server.requests as Array<{ method: string; key?: string; headers: Record<string, string> }>)
        .slice(before)
        .filter((r) => r.method === 'GET' && r.key === input);
      expect(gets.length).toBeGreaterThan(0);
      expect(gets.every((r) => /^bytes=\d+-\d+$/.test(r.headers.range ?? ''))).toBe(true);
      const fetched = gets.map((r) => r.headers.range.split('=')[1].split('-').map(Number)).reduce((sum, [a, b]) => sum + (b - a + 1), 0);
      expect(fetched).toBeLessThan(1024 * 1024);
    }
  });

  test('uploadFiles writes a zip encrypted with the KMS key of the event', async () => {
    const output = newKey('Out');
    const { job } = await run(
      jobHandler({}, async (j) => {
        await j.outputArtifact().uploadFiles({ 'report.txt': 'all good', 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 } });
      }),
      { outputs: { Out: output }, encryptionKeyId: KMS_KEY },
    );
    expect(job.status).toBe('Succeeded');
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: output }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(KMS_KEY);
    const out = await downloadAndExtract(output);
    expect(fs.readFileSync(path.join(out, 'report.txt'), 'utf8')).toBe('all good');
    expect(fs.statSync(path.join(out, 'run.sh')).mode & 0o777).toBe(0o755);
  });

  test('a big output streams as a multipart upload, KMS-encrypted too', async () => {
    const output = newKey('Out');
    const dir = path.join(work, `big-${keyCounter}`);
    fs.mkdirSync(dir);
    const blob = randomBytes(18 * 1024 * 1024);
    fs.writeFileSync(path.join(dir, 'blob.bin'), blob);
    const { job } = await run(
      jobHandler({}, async (j) => {
        await j.outputArtifact('Out').uploadDirectory(dir);
      }),
      { outputs: { Out: output }, encryptionKeyId: KMS_KEY },
    );
    expect(job.status).toBe('Succeeded');
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: output }));
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(KMS_KEY);
    expect(head.ETag).toMatch(/-4"$/); // four parts of 5 MiB
    const out = await downloadAndExtract(output);
    expect(fs.readFileSync(path.join(out, 'blob.bin')).equals(blob)).toBe(true);
  });

  test('without an encryption key, no KMS headers are sent', async () => {
    const output = newKey('Out');
    await run(
      jobHandler({}, async (j) => {
        await j.outputArtifact().uploadFiles({ 'a.txt': 'a' });
      }),
      { outputs: { Out: output } },
    );
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: output }));
    expect(head.ServerSideEncryption).not.toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBeUndefined();
  });

  test('a zip-slip artifact fails the job and writes nothing outside', async () => {
    const input = await putArtifact('Source', craftZip([{ name: 'ok.txt', data: Buffer.from('x') }, { name: '..\\..\\escaped.txt', data: Buffer.from('pwned') }]));
    let target = '';
    const { job, last } = await run(
      jobHandler({}, async (j) => {
        target = path.join(work, `slip-${keyCounter}`, 'inner');
        await j.inputArtifact().extractTo(target);
      }),
      { inputs: { Source: input } },
    );
    expect(job.status).toBe('Failed');
    expect(last.failureDetails).toMatchObject({ type: 'JobFailed', message: expect.stringMatching(/Artifact Source: entry .*leaves the folder/) });
    expect(fs.existsSync(path.join(target, '..', '..', 'escaped.txt'))).toBe(false);
  });

  test('an artifact whose link leads out through another of its links fails the job and leaves no link behind (issue #12)', async () => {
    const input = await putArtifact('Source', craftZip(linkThroughLinkEntries(1, 'PWNED.txt')));
    const target = path.join(work, `pwned-${keyCounter}`, 'inner');
    let wroteThroughLink = false;
    const { job, last } = await run(
      jobHandler({}, async (j) => {
        await j.inputArtifact('Source').extractTo(target);
        // what a handler does next with the folder, and what made the audit's write escape
        fs.writeFileSync(path.join(target, 'l1'), 'pwned');
        wroteThroughLink = true;
      }),
      { inputs: { Source: input } },
    );
    expect(job.status).toBe('Failed');
    expect(last.failureDetails).toMatchObject({ type: 'JobFailed', message: expect.stringMatching(/Artifact Source: symlink "l1" -> .* goes up \(\.\.\) after a name/) });
    expect({ wroteThroughLink, escaped: fs.existsSync(path.join(target, '..', 'PWNED.txt')), left: fs.readdirSync(target).sort() }).toEqual({
      wroteThroughLink: false,
      escaped: false,
      left: ['sub'],
    });
    expect(fs.readdirSync(path.join(target, 'sub'))).toEqual([]);
  });

  test('an entry that fails its CRC-32 fails the job naming the entry, through extractTo, readFile and openFile (issue #12)', async () => {
    const data = Buffer.from('stored bytes that will be damaged in transit\n'.repeat(8));
    const input = await putArtifact('Source', withFlippedBit(craftZip([{ name: 'app.bin', data, store: true }]), data, 77));
    const messages: string[] = [];
    const { job } = await run(
      jobHandler({}, async (j) => {
        const artifact = j.inputArtifact('Source');
        await artifact.extractTo(path.join(work, `crc-${keyCounter}`)).catch((e: Error) => messages.push(e.message));
        await artifact.readFile('app.bin').catch((e: Error) => messages.push(e.message));
        await (async () => {
          for await (const chunk of await artifact.openFile('app.bin')) void chunk;
        })().catch((e: Error) => messages.push(e.message));
        await artifact.readFile('app.bin');
      }),
      { inputs: { Source: input } },
    );
    expect(messages).toHaveLength(3);
    for (const message of messages) expect(message).toMatch(/^Artifact Source is not a valid zip: entry "app.bin" fails its CRC-32 check/);
    expect(job.status).toBe('Failed');
    expect(job.results[job.results.length - 1].failureDetails).toMatchObject({ type: 'JobFailed', message: expect.stringMatching(/"app.bin" fails its CRC-32 check/) });
  });

  test('readFile of an entry larger than its maxBytes fails the job, pointing to openFile and extractTo (issue #12)', async () => {
    const input = await putArtifact('Source', craftZip([{ name: 'dump.csv', data: Buffer.alloc(50_000, 'a,b,c\n') }]));
    let head = '';
    const { job, last } = await run(
      jobHandler({}, async (j) => {
        head = (await j.inputArtifact('Source').readFile('dump.csv', 'utf8', { maxBytes: 60_000 })).slice(0, 6);
        await j.inputArtifact('Source').readFile('dump.csv', { maxBytes: 10_000 });
      }),
      { inputs: { Source: input } },
    );
    expect(head).toBe('a,b,c\n');
    expect(job.status).toBe('Failed');
    expect(last.failureDetails).toMatchObject({
      type: 'JobFailed',
      message: expect.stringMatching(/entry "dump.csv" is larger than 10000 bytes, the most readFile reads into memory \(stream it with openFile\(\), or extract it with extractTo\(\)/),
    });
  });

  test('a zip bomb fails the job before anything is inflated', async () => {
    const input = await putArtifact('Source', craftZip([{ name: 'zeros.bin', deflated: oneGibOfZerosDeflated() }]));
    const started = Date.now();
    const { job, last } = await run(
      jobHandler({}, async (j) => {
        await j.inputArtifact().extractTo();
      }),
      { inputs: { Source: input } },
    );
    expect(job.status).toBe('Failed');
    expect(last.failureDetails!.message).toMatch(/zeros\.bin.*expands \d+:1.*zip bomb/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('a missing artifact object fails the job with the S3 error', async () => {
    const { job, last } = await run(
      jobHandler({}, async (j: PipelineJob) => {
        await j.inputArtifact().extractTo();
      }),
      { inputs: { Source: 'MyPipeline/Source/doesnotexist' } },
    );
    expect(job.status).toBe('Failed');
    expect(last.failureDetails!.message).toMatch(/NoSuchKey/);
  });

  test.each([
    ['extractTo', (j: PipelineJob) => j.inputArtifact().extractTo()],
    ['readFile (a HEAD first)', (j: PipelineJob) => j.inputArtifact().readFile('a.txt')],
    ['list', (j: PipelineJob) => j.inputArtifact().list()],
  ])('a missing artifact object through %s names the artifact, the bucket and the key', async (_how, use) => {
    const { job, last } = await run(
      jobHandler({}, async (j: PipelineJob) => {
        await use(j);
      }),
      { inputs: { Source: 'MyPipeline/Source/gone' } },
    );
    expect(job.status).toBe('Failed');
    const message = last.failureDetails!.message;
    expect(message).toContain("input artifact 'Source'");
    expect(message).toContain(`s3://${BUCKET}/MyPipeline/Source/gone does not exist (S3 answered 404`);
    expect(message).not.toMatch(/UnknownError/);
  });

  test('artifact logs never contain the artifact credentials', async () => {
    const input = await putArtifact('Source', sourceZip());
    const { text } = await run(
      jobHandler({}, async (j) => {
        await j.inputArtifact().extractTo();
      }),
      { inputs: { Source: input } },
    );
    expect(text).toContain('Extracted input artifact Source');
    expect(text).not.toContain('artifactSecretKey');
    expect(text).not.toContain('LocalSessionTokenForTests');
  });
});

describe('artifact credentials', () => {
  test('S3 requests are signed with the artifact credentials of the event, not the function role', async () => {
    // This server accepts only the artifact credentials: a request signed with the function role would be refused.
    const s3 = await startEmbeddedS3({ credentials: [FAKE_SESSION_CREDENTIALS] });
    const restore = lambdaEnvironment({ codePipeline: jobApi.endpoint, s3: s3.endpoint });
    try {
      await s3.createBucket(BUCKET);
      const key = newKey('Source');
      await s3Client(s3.endpoint, FAKE_SESSION_CREDENTIALS).send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: craftZip([{ name: 'a.txt', data: Buffer.from('A') }]) }));
      const event = jobEvent({ bucket: BUCKET, inputs: { Source: key } });
      jobApi.registerJob(event['CodePipeline.job'].id);
      let text = '';
      await captureLogs(() =>
        jobHandler({}, async (j) => {
          text = await j.inputArtifact().readFile('a.txt', 'utf8');
        })(event),
      );
      expect(text).toBe('A');
      const runtimeRequests = s3.server.requests.filter((r) => r.key === key && r.method !== 'PUT');
      expect(runtimeRequests.length).toBeGreaterThan(0);
      expect(new Set(runtimeRequests.map((r) => `${r.accessKeyId} ${r.status}`))).toEqual(new Set([`${FAKE_SESSION_CREDENTIALS.accessKeyId} ${runtimeRequests[0].status}`]));
      expect(runtimeRequests.every((r) => r.status < 300)).toBe(true);
    } finally {
      restore();
      await s3.close();
    }
  });
});

describe('injected clients', () => {
  test('an S3 client factory given in the options is used, with the artifact credentials', async () => {
    const s3 = await startEmbeddedS3();
    const restore = lambdaEnvironment({ codePipeline: jobApi.endpoint });
    try {
      await s3.createBucket(BUCKET);
      const key = newKey('Source');
      await s3Client(s3.endpoint).send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: craftZip([{ name: 'a.txt', data: Buffer.from('A') }]) }));
      const seen: string[] = [];
      const handler = jobHandler(
        {
          s3Client: (credentials) => {
            seen.push(credentials.accessKeyId);
            return s3Client(s3.endpoint, credentials);
          },
        },
        async (j) => ({ outputVariables: { a: await j.inputArtifact().readFile('a.txt', 'utf8') } }),
      );
      const event = jobEvent({ bucket: BUCKET, inputs: { Source: key } });
      jobApi.registerJob(event['CodePipeline.job'].id);
      await captureLogs(() => handler(event));
      expect(seen).toEqual([FAKE_SESSION_CREDENTIALS.accessKeyId]);
      expect(jobApi.job(event['CodePipeline.job'].id)!.results[0].outputVariables).toEqual({ a: 'A' });
    } finally {
      restore();
      await s3.close();
    }
  });
});
