/**
 * Extract candidate, in a fresh process: a `jobHandler` whose job extracts its input artifact with `extractTo()`,
 * invoked the way Lambda invokes it. `node extract-candidate-child.js <event.json> <outDir>`; the S3 and job-API
 * endpoints come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_CODEPIPELINE, as on a local job run.
 */
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { INPUT_ARTIFACT, lambdaContext } from './job-event';
import { jobHandler } from '../../src/runtime';
import { cpuMsSince, reportToParent } from '../lib/child';

export interface ExtractCandidateResult {
  readonly ms: number;
  /** CPU time of the operation, every thread of the process (zlib and fs work runs on libuv's pool). */
  readonly cpuMs: number;
  readonly maxRssKb: number;
}

async function main(): Promise<void> {
  const [eventFile, outDir] = process.argv.slice(2);
  const event = JSON.parse(fs.readFileSync(eventFile, 'utf8')) as unknown;
  let ms = NaN;
  let cpuMs = NaN;
  const handler = jobHandler({}, async (job) => {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await job.inputArtifact(INPUT_ARTIFACT).extractTo(outDir);
    ms = performance.now() - started;
    cpuMs = cpuMsSince(cpuStarted);
    return { summary: 'extracted' };
  });
  await handler(event as Parameters<typeof handler>[0], lambdaContext());
  const result: ExtractCandidateResult = { ms, cpuMs, maxRssKb: process.resourceUsage().maxRSS };
  reportToParent(result);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
