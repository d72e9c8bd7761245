/**
 * Extract baselines, in a fresh process: SDK GetObject streamed to a file in the work folder, then
 * - `unzip`: Info-ZIP `unzip` (checks every entry's CRC-32);
 * - `adm-zip`: adm-zip's extractAllTo (reads the zip into memory; checks CRC-32);
 * - `yauzl`: yauzl, each entry streamed to its file (sizes validated; yauzl checks no CRC-32).
 * `node extract-baseline-child.js <endpoint> <bucket> <key> <workDir> <mode>`; extracts into <workDir>/out.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- adm-zip is `export =` and esModuleInterop is off
import AdmZip = require('adm-zip');
import * as yauzl from 'yauzl';
import { localS3Client } from './s3-client';
import { cpuMsSince, reportToParent, runTimedCommand } from '../lib/child';

export type ExtractBaselineMode = 'unzip' | 'adm-zip' | 'yauzl';

export interface ExtractBaselineResult {
  readonly ms: number;
  readonly downloadMs: number;
  /** CPU time of the download and extraction (this process) plus unzip's. */
  readonly cpuMs: number;
  /** Peak RSS of this Node process, KiB. */
  readonly maxRssKb: number;
  /** Peak RSS of the unzip process, KiB (0 when extracting in this process). */
  readonly unzipMaxRssKb: number;
}

async function main(): Promise<void> {
  const [endpoint, bucket, key, workDir, mode] = process.argv.slice(2) as [string, string, string, string, ExtractBaselineMode];
  const zipFile = path.join(workDir, 'artifact.zip');
  const outDir = path.join(workDir, 'out');
  const s3 = localS3Client(endpoint);

  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(object.Body as Readable, fs.createWriteStream(zipFile));
  const downloadMs = performance.now() - started;
  let unzipCpuMs = 0;
  let unzipMaxRssKb = 0;
  if (mode === 'unzip') {
    const unzip = await runTimedCommand('unzip', ['-q', '-o', zipFile, '-d', outDir]);
    unzipCpuMs = unzip.cpuMs;
    unzipMaxRssKb = unzip.maxRssKb;
  } else if (mode === 'adm-zip') {
    new AdmZip(zipFile).extractAllTo(outDir, true);
  } else {
    await extractWithYauzl(zipFile, outDir);
  }
  const result: ExtractBaselineResult = {
    ms: performance.now() - started,
    downloadMs,
    cpuMs: cpuMsSince(cpuStarted) + unzipCpuMs,
    maxRssKb: process.resourceUsage().maxRSS,
    unzipMaxRssKb,
  };
  reportToParent(result);
}

/** yauzl's README way: entries one after the other, each piped to its file. */
function extractWithYauzl(zipFile: string, outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipFile, { lazyEntries: true, validateEntrySizes: true }, (openError, zip) => {
      if (openError) return reject(openError);
      zip.on('error', reject);
      zip.on('end', resolve);
      zip.on('entry', (entry: yauzl.Entry) => {
        const target = path.join(outDir, entry.fileName);
        if (entry.fileName.endsWith('/')) {
          fs.mkdirSync(target, { recursive: true });
          return zip.readEntry();
        }
        fs.mkdirSync(path.dirname(target), { recursive: true });
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) return reject(streamError);
          pipeline(stream, fs.createWriteStream(target)).then(() => zip.readEntry(), reject);
        });
      });
      zip.readEntry();
    });
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
