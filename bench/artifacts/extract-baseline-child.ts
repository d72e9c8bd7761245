/**
 * Extract baseline, in a fresh process: SDK GetObject streamed to a file, then Info-ZIP `unzip` of that file.
 * `node extract-baseline-child.js <endpoint> <bucket> <key> <workDir>`; extracts into <workDir>/out.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { localS3Client } from './s3-client';
import { cpuMsSince, reportToParent, runTimedCommand } from '../lib/child';

export interface ExtractBaselineResult {
  readonly ms: number;
  readonly downloadMs: number;
  readonly unzipMs: number;
  /** CPU time of the download (this process) plus unzip's. */
  readonly cpuMs: number;
  /** Peak RSS of this Node process (the download), KiB. */
  readonly maxRssKb: number;
  /** Peak RSS of the unzip process, KiB. */
  readonly unzipMaxRssKb: number;
}

async function main(): Promise<void> {
  const [endpoint, bucket, key, workDir] = process.argv.slice(2);
  const zipFile = path.join(workDir, 'artifact.zip');
  const outDir = path.join(workDir, 'out');
  const s3 = localS3Client(endpoint);

  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(object.Body as Readable, fs.createWriteStream(zipFile));
  const downloaded = performance.now();
  const downloadCpuMs = cpuMsSince(cpuStarted);
  const unzip = await runTimedCommand('unzip', ['-q', '-o', zipFile, '-d', outDir]);
  const finished = performance.now();

  const result: ExtractBaselineResult = {
    ms: finished - started,
    downloadMs: downloaded - started,
    unzipMs: finished - downloaded,
    cpuMs: downloadCpuMs + unzip.cpuMs,
    maxRssKb: process.resourceUsage().maxRSS,
    unzipMaxRssKb: unzip.maxRssKb,
  };
  reportToParent(result);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
