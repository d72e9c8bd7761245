/**
 * The local services the artifact benchmarks run against, in the parent process (so their memory and CPU are never
 * counted in a child's figures, and both sides of a comparison share them alike).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { localS3Client } from './s3-client';
import { JobApiEmulator } from '../../src/local/job-api-emulator';
import { LocalS3Server } from '../../src/local/s3-server';

export interface S3Endpoint {
  readonly endpoint: string;
  close(): Promise<void>;
}

export type JobApi = JobApiEmulator;

/** The embedded LocalS3Server from src/local (the default), or moto_server for a cross-check (BENCH_S3=moto). */
export async function startS3(backend: 'embedded' | 'moto'): Promise<S3Endpoint> {
  return backend === 'moto' ? startMotoServer() : LocalS3Server.start();
}

export async function startJobApi(): Promise<JobApi> {
  return JobApiEmulator.start();
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  await localS3Client(endpoint).send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function putFile(endpoint: string, bucket: string, key: string, file: string): Promise<void> {
  await new Upload({ client: localS3Client(endpoint), params: { Bucket: bucket, Key: key, Body: fs.createReadStream(file) } }).done();
}

export async function objectSize(endpoint: string, bucket: string, key: string): Promise<number> {
  const head = await localS3Client(endpoint).send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return head.ContentLength ?? 0;
}

async function startMotoServer(): Promise<S3Endpoint> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (await accepts(port)) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error('moto_server did not start (pip install "moto[s3,server]")');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    close: async () => {
      child.kill();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
