/**
 * Upload baseline, in a fresh process: Info-ZIP `zip -r` of the folder to a file, then an SDK upload of that file
 * (`@aws-sdk/lib-storage` Upload: the SDK's multipart upload for large bodies, parts sent in parallel).
 * `node upload-baseline-child.js <endpoint> <bucket> <key> <treeDir> <workDir>`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Upload } from '@aws-sdk/lib-storage';
import { localS3Client } from './s3-client';
import { cpuMsSince, reportToParent, runTimedCommand } from '../lib/child';

export interface UploadBaselineResult {
  readonly ms: number;
  readonly zipMs: number;
  readonly uploadMs: number;
  /** CPU time of zip plus the upload (this process). */
  readonly cpuMs: number;
  /** Peak RSS of this Node process (the upload), KiB. */
  readonly maxRssKb: number;
  /** Peak RSS of the zip process, KiB. */
  readonly zipMaxRssKb: number;
  readonly zipBytes: number;
}

async function main(): Promise<void> {
  const [endpoint, bucket, key, treeDir, workDir] = process.argv.slice(2);
  const zipFile = path.join(workDir, 'upload.zip');
  const s3 = localS3Client(endpoint);

  const started = performance.now();
  // -X: no extra attributes; -r: recurse. Default compression level 6, as yazl/zlib use.
  const zip = await runTimedCommand('zip', ['-q', '-r', '-X', zipFile, '.'], treeDir);
  const zipped = performance.now();
  const cpuStarted = process.cpuUsage();
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: fs.createReadStream(zipFile), ContentType: 'application/zip' },
  }).done();
  const finished = performance.now();

  const result: UploadBaselineResult = {
    ms: finished - started,
    zipMs: zipped - started,
    uploadMs: finished - zipped,
    cpuMs: zip.cpuMs + cpuMsSince(cpuStarted),
    maxRssKb: process.resourceUsage().maxRSS,
    zipMaxRssKb: zip.maxRssKb,
    zipBytes: fs.statSync(zipFile).size,
  };
  reportToParent(result);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
