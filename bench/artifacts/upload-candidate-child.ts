/**
 * Upload candidate, in a fresh process: a `jobHandler` whose job zips and uploads a folder with `uploadDirectory()`.
 * `node upload-candidate-child.js <event.json> <treeDir>`.
 */
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { OUTPUT_ARTIFACT, lambdaContext } from './job-event';
import { jobHandler } from '../../src/runtime';
import { cpuMsSince, reportToParent } from '../lib/child';

export interface UploadCandidateResult {
  readonly ms: number;
  /** CPU time of the operation, every thread of the process (zlib and fs work runs on libuv's pool). */
  readonly cpuMs: number;
  readonly maxRssKb: number;
}

async function main(): Promise<void> {
  const [eventFile, treeDir] = process.argv.slice(2);
  const event = JSON.parse(fs.readFileSync(eventFile, 'utf8')) as unknown;
  let ms = NaN;
  let cpuMs = NaN;
  const handler = jobHandler({}, async (job) => {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await job.outputArtifact(OUTPUT_ARTIFACT).uploadDirectory(treeDir);
    ms = performance.now() - started;
    cpuMs = cpuMsSince(cpuStarted);
    return { summary: 'uploaded' };
  });
  await handler(event as Parameters<typeof handler>[0], lambdaContext());
  const result: UploadCandidateResult = { ms, cpuMs, maxRssKb: process.resourceUsage().maxRSS };
  reportToParent(result);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
