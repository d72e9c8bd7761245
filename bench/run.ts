/**
 * `npx projen bench`: every benchmark under bench/, each figure measured side by side with its baseline in the same
 * run (median of an odd number of interleaved runs, fresh child processes where cold start matters). Prints a table and
 * writes bench/results.json. Targets are design §6; they are reported, never asserted on absolute times.
 *
 * Environment:
 *   BENCH_QUICK=1       CI smoke: 20 MB artifact, fewer runs (same keys, noisier figures)
 *   BENCH_ONLY=a,b      only these suites: synth, handler, import, extract, upload
 *   BENCH_STRICT=1      exit 1 when a target is missed (default: exit 1 only when a benchmark fails to run)
 *   BENCH_S3=moto       serve artifacts from moto_server instead of the embedded LocalS3Server (cross-check)
 *   BENCH_RUNS=n        runs per side for every figure (made odd), e.g. to tighten one figure while profiling
 *   BENCH_SYNTH_STAGES  stage counts of the synth benchmark (default 1,10,50,100)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DatasetSpec, FULL_DATASET, QUICK_DATASET } from './artifacts/dataset';
import { extractSuite, uploadSuite } from './artifacts/suite';
import { handlerSizeSuite, importSuite } from './handler/suite';
import { oddRuns } from './lib/stats';
import { synthSuite } from './synth/suite';
import { printTable, TARGETS, verdicts } from './targets';

export type Figures = Record<string, unknown>;

export interface BenchConfig {
  readonly quick: boolean;
  readonly synthStages: number[];
  readonly synthRuns: number;
  readonly synthRunsAt50: number;
  readonly importRuns: number;
  readonly artifactRuns: number;
  readonly dataset: DatasetSpec;
  readonly s3Backend: 'embedded' | 'moto';
  readonly log: (line: string) => void;
}

type Suite = (config: BenchConfig) => Promise<Figures>;

const SUITES: Record<string, Suite> = {
  synth: synthSuite,
  handler: handlerSizeSuite,
  import: importSuite,
  extract: extractSuite,
  upload: uploadSuite,
};

const RESULTS_FILE = path.join(__dirname, 'results.json');

function configFromEnv(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
  const runs = (quickRuns: number, fullRuns: number) => oddRuns(Number(process.env.BENCH_RUNS) || (quick ? quickRuns : fullRuns));
  const stages = process.env.BENCH_SYNTH_STAGES?.split(',').map(Number).filter((n) => n > 0);
  return {
    quick,
    synthStages: stages?.length ? stages : [1, 10, 50, 100],
    synthRuns: runs(3, 5),
    synthRunsAt50: runs(3, 11),
    importRuns: runs(11, 21),
    artifactRuns: runs(3, 5),
    dataset: quick ? QUICK_DATASET : FULL_DATASET,
    s3Backend: process.env.BENCH_S3 === 'moto' ? 'moto' : 'embedded',
    log: (line) => console.error(`[bench] ${line}`),
  };
}

async function main(): Promise<number> {
  const config = configFromEnv();
  const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const figures: Figures = {};
  const skipped: Record<string, string> = {};
  const failed: Record<string, string> = {};
  const samples: Record<string, unknown> = {};
  for (const [name, suite] of Object.entries(SUITES)) {
    if (only && !only.includes(name)) {
      continue;
    }
    config.log(`${name}...`);
    try {
      const result = await suite(config);
      if (typeof result.skipped === 'string') {
        skipped[name] = result.skipped;
        config.log(`${name} skipped: ${result.skipped}`);
      } else {
        const { samples: suiteSamples, ...suiteFigures } = result;
        Object.assign(figures, suiteFigures);
        Object.assign(samples, suiteSamples);
      }
    } catch (error) {
      failed[name] = error instanceof Error ? error.message : String(error);
      config.log(`${name} FAILED: ${failed[name]}`);
    }
  }

  const results = {
    ...Object.fromEntries(TARGETS.map((t) => [t.key, null])),
    ...figures,
    targets: verdicts(figures),
    skipped,
    failed,
    samples,
    meta: {
      quick: config.quick,
      s3Backend: config.s3Backend,
      dataset: config.dataset.name,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      date: new Date().toISOString(),
    },
  };
  fs.writeFileSync(RESULTS_FILE, JSON.stringify(results, null, 2) + '\n');
  printTable(figures, config);
  console.log(`\nwritten: ${path.relative(process.cwd(), RESULTS_FILE)}`);

  const missed = Object.entries(results.targets).filter(([, v]) => v === 'missed').map(([k]) => k);
  if (Object.keys(failed).length > 0) {
    return 1;
  }
  return process.env.BENCH_STRICT === '1' && missed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
