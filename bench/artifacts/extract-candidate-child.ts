/**
 * Extract candidate, in a fresh process: a `jobHandler` whose job extracts its input artifact with `extractTo()`,
 * invoked the way Lambda invokes it. `node extract-candidate-child.js <event.json> <outDir>`; the S3 and job-API
 * endpoints come from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_CODEPIPELINE, as on a local job run.
 */
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { jobHandler } from '../../src/runtime';
import { reportToParent } from '../lib/child';
import { INPUT_ARTIFACT, lambdaContext } from './job-event';

export interface ExtractCandidateResult {
  readonly ms: number;
  readonly maxRssKb: number;
}

async function main(): Promise<void> {
  const [eventFile, outDir] = process.argv.slice(2);
  const event = JSON.parse(fs.readFileSync(eventFile, 'utf8')) as unknown;
  let ms = NaN;
  const handler = jobHandler({}, async (job) => {
    const started = performance.now();
    await job.inputArtifact(INPUT_ARTIFACT).extractTo(outDir);
    ms = performance.now() - started;
    return { summary: 'extracted' };
  });
  await handler(event as Parameters<typeof handler>[0], lambdaContext());
  const result: ExtractCandidateResult = { ms, maxRssKb: process.resourceUsage().maxRSS };
  reportToParent(result);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
