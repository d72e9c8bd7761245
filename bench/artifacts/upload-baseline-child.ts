/**
 * Upload baselines, in a fresh process, each with the SDK's multipart `Upload` (`@aws-sdk/lib-storage`) at the
 * candidate's settings (2 parts of 5 MiB in flight, src/runtime/s3/upload.ts):
 * - `zip-same`: Info-ZIP `zip -r -n <suffixes>` to a file, storing what the candidate stores (same work), then Upload;
 * - `zip-default`: plain `zip -r` (Info-ZIP's default store list, `.Z:.zip:.zoo:.arc:.lzh:.arj`), then Upload;
 * - `archiver`: archiver's zip stream (the usual Node choice) piped into Upload, nothing on disk.
 * `node upload-baseline-child.js <endpoint> <bucket> <key> <treeDir> <workDir> <mode> [<suffixes a:b:c>]`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { PassThrough } from 'stream';
import { Upload } from '@aws-sdk/lib-storage';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- archiver is `export =` and esModuleInterop is off
import archiver = require('archiver');
import { localS3Client } from './s3-client';
import { cpuMsSince, reportToParent, runTimedCommand } from '../lib/child';

export type UploadBaselineMode = 'zip-same' | 'zip-default' | 'archiver';

export interface UploadBaselineResult {
  readonly ms: number;
  /** Time spent zipping before the upload started (0 for archiver, which streams). */
  readonly zipMs: number;
  /** CPU time of zip plus the upload (this process). */
  readonly cpuMs: number;
  /** Peak RSS of this Node process, KiB. */
  readonly maxRssKb: number;
  /** Peak RSS of the zip process, KiB (0 for archiver). */
  readonly zipMaxRssKb: number;
}

/** The candidate's multipart settings (src/runtime/s3/upload.ts): the same on both sides. */
const UPLOAD_SETTINGS = { queueSize: 2, partSize: 5 * 1024 * 1024 };

async function main(): Promise<void> {
  const [endpoint, bucket, key, treeDir, workDir, mode, suffixes] = process.argv.slice(2) as [
    string, string, string, string, string, UploadBaselineMode, string?,
  ];
  const s3 = localS3Client(endpoint);
  const params = { Bucket: bucket, Key: key, ContentType: 'application/zip' };
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let zipMs = 0;
  let zipCpuMs = 0;
  let zipMaxRssKb = 0;
  if (mode === 'archiver') {
    // Default level 6, as zlib and Info-ZIP; every entry deflated (archiver's default).
    const archive = archiver('zip', { zlib: { level: 6 } });
    // archiver's stream is readable-stream's, which lib-storage does not recognise as a Readable: piped into a core one.
    const body = new PassThrough();
    archive.on('error', (error) => body.destroy(error));
    archive.pipe(body);
    const upload = new Upload({ client: s3, params: { ...params, Body: body }, ...UPLOAD_SETTINGS }).done();
    archive.directory(treeDir, false);
    await Promise.all([archive.finalize(), upload]);
  } else {
    const zipFile = path.join(workDir, 'upload.zip');
    // -X: no extra attributes; -r: recurse; default level 6. -n: suffixes stored, not deflated.
    const store = mode === 'zip-same' && suffixes ? ['-n', suffixes] : [];
    const zip = await runTimedCommand('zip', ['-q', '-r', '-X', ...store, zipFile, '.'], treeDir);
    zipMs = performance.now() - started;
    zipCpuMs = zip.cpuMs;
    zipMaxRssKb = zip.maxRssKb;
    await new Upload({ client: s3, params: { ...params, Body: fs.createReadStream(zipFile) }, ...UPLOAD_SETTINGS }).done();
  }
  const result: UploadBaselineResult = {
    ms: performance.now() - started,
    zipMs,
    cpuMs: zipCpuMs + cpuMsSince(cpuStarted),
    maxRssKb: process.resourceUsage().maxRSS,
    zipMaxRssKb,
  };
  reportToParent(result);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
