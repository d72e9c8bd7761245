/**
 * Real local servers for tests that cross the wire: the CodePipeline job-API emulator, the embedded S3 server, and
 * moto's S3 (`moto_server`, Python) as the reference S3 implementation.
 *
 *   describe.each(s3Backends)('artifacts on %s', (_name, startS3) => { ... });
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as http from 'http';
import * as net from 'net';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { FAKE_CREDENTIALS, FAKE_SESSION_CREDENTIALS, REGION } from './credentials';
import { JobApiEmulator, type JobApiEmulatorOptions } from '../../src/local/job-api-emulator';
import { LocalS3Server, type LocalS3ServerOptions } from '../../src/local/s3-server';

export { FAKE_CREDENTIALS, FAKE_SESSION_CREDENTIALS, REGION };

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A real `@aws-sdk/client-s3` pointed at a local endpoint (path-style happens by itself for 127.0.0.1). */
export function s3Client(endpoint: string, credentials: Credentials = FAKE_CREDENTIALS): S3Client {
  return new S3Client({ endpoint, region: REGION, credentials, maxAttempts: 1 });
}

/** A real `@aws-sdk/client-codepipeline` pointed at a local endpoint. */
export function codePipelineClient(endpoint: string, credentials: Credentials = FAKE_CREDENTIALS): CodePipelineClient {
  return new CodePipelineClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startJobApi(options?: JobApiEmulatorOptions): Promise<JobApiEmulator> {
  return JobApiEmulator.start(options);
}

/** An S3 endpoint a test can use, whatever serves it. */
export interface S3Backend {
  readonly name: string;
  readonly endpoint: string;
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function startEmbeddedS3(options?: LocalS3ServerOptions): Promise<S3Backend & { readonly server: LocalS3Server }> {
  const server = await LocalS3Server.start(options);
  return {
    name: 'embedded',
    server,
    endpoint: server.endpoint,
    createBucket: async (name) => server.createBucket(name),
    close: () => server.close(),
  };
}

const MOTO_READY_TIMEOUT_MS = 20_000;

/** True when `moto_server` is on the PATH (.ci/run installs it: pip install 'moto[s3,server]'). */
export function motoAvailable(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

/**
 * Spawns `moto_server -H 127.0.0.1 -p <free port>` and resolves once it answers HTTP (about 2 s).
 * Fails with what to install when moto is missing.
 */
export async function startMoto(): Promise<S3Backend> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  try {
    await waitUntilServing(endpoint, child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const client = s3Client(endpoint);
  return {
    name: 'moto',
    endpoint,
    createBucket: async (name) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    close: async () => {
      client.destroy();
      await stopChild(child);
    },
  };
}

async function waitUntilServing(endpoint: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (err) =>
      reject(new Error(`cannot start moto_server (${err.message}); install it with: pip install 'moto[s3,server]'`)),
    );
    child.once('exit', (code) => reject(new Error(`moto_server exited with code ${code} before serving:\n${stderr()}`)));
  });
  spawnError.catch(() => undefined);
  const deadline = Date.now() + MOTO_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const up = await Promise.race([answers(endpoint), spawnError]);
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${MOTO_READY_TIMEOUT_MS} ms:\n${stderr()}`);
}

function answers(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/moto-api/`, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Every S3 implementation the artifact suites must pass against: `describe.each(s3Backends)`. */
export const s3Backends: ReadonlyArray<readonly [string, () => Promise<S3Backend>]> = [
  ['embedded', () => startEmbeddedS3()],
  ['moto', startMoto],
];

/** What an SDK call that must fail failed with: the error's name, HTTP status and message. */
export async function sdkErrorOf(promise: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}

/** The same, without the message: for assertions on the error code alone. */
export async function sdkErrorCodeOf(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  const { name, status } = await sdkErrorOf(promise);
  return { name, status };
}
