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
  /** CPU time (user + system, all threads) of load + build + synth: robust against other load on shared cores. */
  readonly synthCpuMs: number;
  /** Wall time of the same. */
  readonly synthMs: number;
  readonly templateBytes: number;
  readonly resourceCounts: Record<string, number>;
}

type Build = (app: cdk.App, stages: number) => void;

function preloadCommonModules(): void {
  for (const name of ['aws-codepipeline', 'aws-codepipeline-actions', 'aws-lambda', 'aws-iam', 'aws-logs', 'aws-s3', 'aws-kms', 'aws-events']) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded before the clock starts, by name
    require(`aws-cdk-lib/${name}`);
  }
}

function main(): void {
  const [appFile, stagesArg, outdir] = process.argv.slice(2);
  preloadCommonModules();
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the app is part of what is timed
  const { build } = require(path.resolve(appFile)) as { build: Build };
  // 100 stages make more than CloudFormation's 500 resources per stack: lift CDK's synth-time check so the benchmark
  // can measure how synth scales (a deployable app splits stacks; CodePipeline itself allows at most 50 stages).
  const app = new cdk.App({ outdir, context: { [cdk.STACK_RESOURCE_LIMIT_CONTEXT]: 0 } });
  build(app, Number(stagesArg));
  const assembly = app.synth();
  const synthMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const synthCpuMs = (cpu.user + cpu.system) / 1000;

  const stack = assembly.stacks[0];
  const templateFile = path.join(assembly.directory, stack.templateFile);
  const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string }> };
  const resourceCounts: Record<string, number> = {};
  for (const resource of Object.values(template.Resources)) {
    resourceCounts[resource.Type] = (resourceCounts[resource.Type] ?? 0) + 1;
  }
  const result: SynthChildResult = { synthCpuMs, synthMs, templateBytes: fs.statSync(templateFile).size, resourceCounts };
  reportToParent(result);
}

main();
