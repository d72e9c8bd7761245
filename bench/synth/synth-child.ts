/**
 * One synth measurement in a fresh process: `node synth-child.js <app.js> <stages> <outdir>`.
 *
 * The aws-cdk-lib modules both apps use are loaded before the clock starts, so the timed part is what differs: loading
 * the app (for the candidate, the library), building the constructs and `app.synth()`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import * as cdk from 'aws-cdk-lib';
import { reportToParent } from '../lib/child';

export interface SynthChildResult {
  readonly synthMs: number;
  readonly templateBytes: number;
  readonly resourceCounts: Record<string, number>;
}

type Build = (app: cdk.App, stages: number) => void;

function preloadCommonModules(): void {
  for (const name of ['aws-codepipeline', 'aws-codepipeline-actions', 'aws-lambda', 'aws-iam', 'aws-logs', 'aws-s3', 'aws-kms', 'aws-events']) {
    require(`aws-cdk-lib/${name}`);
  }
}

function main(): void {
  const [appFile, stagesArg, outdir] = process.argv.slice(2);
  preloadCommonModules();
  const started = performance.now();
  const { build } = require(path.resolve(appFile)) as { build: Build };
  const app = new cdk.App({ outdir });
  build(app, Number(stagesArg));
  const assembly = app.synth();
  const synthMs = performance.now() - started;

  const stack = assembly.stacks[0];
  const templateFile = path.join(assembly.directory, stack.templateFile);
  const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string }> };
  const resourceCounts: Record<string, number> = {};
  for (const resource of Object.values(template.Resources)) {
    resourceCounts[resource.Type] = (resourceCounts[resource.Type] ?? 0) + 1;
  }
  const result: SynthChildResult = { synthMs, templateBytes: fs.statSync(templateFile).size, resourceCounts };
  reportToParent(result);
}

main();
