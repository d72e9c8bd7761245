/**
 * Extract baseline, in a fresh process: SDK GetObject streamed to a file, then Info-ZIP `unzip` of that file.
 * `node extract-baseline-child.js <endpoint> <bucket> <key> <workDir>`; extracts into <workDir>/out.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { reportToParent } from '../lib/child';
import { localS3Client } from './s3-client';

export interface ExtractBaselineResult {
  readonly ms: number;
  readonly downloadMs: number;
  readonly unzipMs: number;
  /** Peak RSS of this Node process (the download), KiB. */
  readonly maxRssKb: number;
  /** Peak RSS of the unzip process, KiB (from /usr/bin/time). */
  readonly unzipMaxRssKb: number;
}

async function main(): Promise<void> {
  const [endpoint, bucket, key, workDir] = process.argv.slice(2);
  const zipFile = path.join(workDir, 'artifact.zip');
  const outDir = path.join(workDir, 'out');
  const s3 = localS3Client(endpoint);

  const started = performance.now();
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(object.Body as Readable, fs.createWriteStream(zipFile));
  const downloaded = performance.now();
  const unzipMaxRssKb = await unzip(zipFile, outDir);
  const finished = performance.now();

  const result: ExtractBaselineResult = {
    ms: finished - started,
    downloadMs: downloaded - started,
    unzipMs: finished - downloaded,
    maxRssKb: process.resourceUsage().maxRSS,
    unzipMaxRssKb,
  };
  reportToParent(result);
}

/** Runs `unzip -q -o <zip> -d <dir>` under /usr/bin/time and returns unzip's peak RSS in KiB. */
function unzip(zipFile: string, outDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', 'unzip', '-q', '-o', zipFile, '-d', outDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const match = /maxrss=(\d+)/.exec(stderr);
      if (code !== 0 || !match) {
        reject(new Error(`unzip failed (${code}): ${stderr}`));
        return;
      }
      resolve(Number(match[1]));
    });
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
