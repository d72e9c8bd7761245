/**
 * Upload candidate, in a fresh process: a `jobHandler` whose job zips and uploads a folder with `uploadDirectory()`.
 * `node upload-candidate-child.js <event.json> <treeDir>`.
 */
import * as fs from 'fs';
import { performance } from 'perf_hooks';
import { jobHandler } from '../../src/runtime';
import { reportToParent } from '../lib/child';
import { OUTPUT_ARTIFACT, lambdaContext } from './job-event';

export interface UploadCandidateResult {
  readonly ms: number;
  readonly maxRssKb: number;
}

async function main(): Promise<void> {
  const [eventFile, treeDir] = process.argv.slice(2);
  const event = JSON.parse(fs.readFileSync(eventFile, 'utf8')) as unknown;
  let ms = NaN;
  const handler = jobHandler({}, async (job) => {
    const started = performance.now();
    await job.outputArtifact(OUTPUT_ARTIFACT).uploadDirectory(treeDir);
    ms = performance.now() - started;
    return { summary: 'uploaded' };
  });
  await handler(event as Parameters<typeof handler>[0], lambdaContext());
  const result: UploadCandidateResult = { ms, maxRssKb: process.resourceUsage().maxRSS };
  reportToParent(result);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
