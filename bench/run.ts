/**
 * `npx projen bench`: every benchmark under bench/, each figure measured side by side with its baseline in the same
 * run (interleaved rounds, paired ratios with 95 % intervals, fresh child processes where cold start matters). Prints
 * a table. A full run (no BENCH_QUICK, BENCH_ONLY or BENCH_DATASETS) writes bench/results/<date>.json, committed with
 * the machine, the commit and every sample, and regenerates the README's Performance table from it; other runs write
 * tmp/bench/results.json. Targets are the README's Performance targets (bench/targets.ts).
 *
 * Environment:
 *   BENCH_QUICK=1       CI smoke: 20 MB artifacts, fewer runs (same keys, noisier figures)
 *   BENCH_ONLY=a,b      only these suites: synth, handler, import, extract, upload
 *   BENCH_DATASETS=a,b  only these artifact datasets: media, modules
 *   BENCH_STRICT=1      exit 1 when a strict target (bench/targets.ts) is missed, its suite not run included
 *   BENCH_S3=moto       serve artifacts from moto_server instead of the embedded LocalS3Server (cross-check)
 *   BENCH_RUNS=n        runs per side for every figure (made odd), e.g. to tighten one figure while profiling
 *   BENCH_OTHER_RUNS=n  rounds in which the other artifact baselines run too (archiver, plain zip, adm-zip, yauzl; 0: none)
 *   BENCH_SYNTH_STAGES  stage counts of the synth benchmark (default 1,10,50,100)
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DatasetSpec, FULL_DATASET, FULL_MODULES_DATASET, QUICK_DATASET, QUICK_MODULES_DATASET } from './artifacts/dataset';
import { extractSuite, uploadSuite } from './artifacts/suite';
import { handlerSizeSuite, importSuite } from './handler/suite';
import { PROJECT_ROOT, SCRATCH_DIR } from './lib/build';
import { oddRuns } from './lib/stats';
import { RESULTS_DIR, updateReadme } from './readme';
import { synthSuite } from './synth/suite';
import { isMissed, markdownTable, targetResults } from './targets';

export type Figures = Record<string, unknown>;

export interface BenchConfig {
  readonly quick: boolean;
  readonly synthStages: number[];
  readonly synthRuns: number;
  readonly synthRunsAt50: number;
  readonly importRuns: number;
  /** Rounds of the artifact benchmarks: ours and the target's baseline run in every one. */
  readonly artifactRuns: number;
  /** Rounds in which the other baselines (archiver, plain zip, adm-zip, yauzl) run too. */
  readonly secondaryRuns: number;
  readonly datasets: readonly DatasetSpec[];
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

function list(variable: string): string[] | undefined {
  const items = process.env[variable]?.split(',').map((s) => s.trim()).filter(Boolean);
  return items?.length ? items : undefined;
}

function configFromEnv(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
  const runs = (quickRuns: number, fullRuns: number) => oddRuns(Number(process.env.BENCH_RUNS) || (quick ? quickRuns : fullRuns));
  const stages = list('BENCH_SYNTH_STAGES')?.map(Number).filter((n) => n > 0);
  const kinds = list('BENCH_DATASETS');
  const all = quick ? [QUICK_DATASET, QUICK_MODULES_DATASET] : [FULL_DATASET, FULL_MODULES_DATASET];
  const datasets = all.filter((d) => !kinds || kinds.includes(d.kind));
  const artifactRuns = runs(3, 5);
  return {
    quick,
    synthStages: stages?.length ? stages : [1, 10, 50, 100],
    synthRuns: runs(3, 5),
    synthRunsAt50: runs(3, 11),
    importRuns: runs(11, 21),
    artifactRuns,
    secondaryRuns: Math.min(artifactRuns, process.env.BENCH_OTHER_RUNS !== undefined ? Number(process.env.BENCH_OTHER_RUNS) : quick ? 1 : 3),
    datasets,
    s3Backend: process.env.BENCH_S3 === 'moto' ? 'moto' : 'embedded',
    log: (line) => console.error(`[bench] ${line}`),
  };
}

/** The machine and the code measured: part of every results file. */
function machine(): Figures {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  };
  return {
    commit: git('rev-parse', 'HEAD'),
    uncommittedChanges: (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '',
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE) || 4,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<number> {
  const config = configFromEnv();
  const only = list('BENCH_ONLY');
  const unknown = only?.filter((name) => !(name in SUITES)) ?? [];
  if (unknown.length > 0) {
    throw new Error(`BENCH_ONLY names no suite ${unknown.join(', ')} (suites: ${Object.keys(SUITES).join(', ')})`);
  }
  const suites = Object.keys(SUITES).filter((name) => !only || only.includes(name));
  const startedAt = new Date();
  const meta = { ...machine(), date: startedAt.toISOString() };
  const figures: Figures = {};
  const skipped: Record<string, string> = {};
  const failed: Record<string, string> = {};
  const samples: Record<string, unknown> = {};
  for (const name of suites) {
    config.log(`${name}...`);
    try {
      const result = await SUITES[name](config);
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

  const targets = targetResults(figures, { suites });
  const narrowed = ['BENCH_DATASETS', 'BENCH_RUNS', 'BENCH_OTHER_RUNS', 'BENCH_SYNTH_STAGES'].some((name) => process.env[name]);
  const full = !config.quick && !only && !narrowed;
  const results = {
    meta: {
      ...meta,
      durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
      loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
      full,
      quick: config.quick,
      suites,
      datasets: config.datasets.map((d) => d.name),
      runs: {
        synth: config.synthRuns,
        synthAt50: config.synthRunsAt50,
        import: config.importRuns,
        artifacts: config.artifactRuns,
        otherBaselines: config.secondaryRuns,
      },
      s3Backend: config.s3Backend,
    },
    targets,
    figures,
    skipped,
    failed,
    samples,
  };
  const stamp = startedAt.toISOString().replace(/:/g, '').replace(/\.\d+Z$/, 'Z');
  const file = full ? path.join(RESULTS_DIR, `${stamp}.json`) : path.join(SCRATCH_DIR, 'results.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');

  console.log(`\ncdk-codepipeline-invoke bench (${config.quick ? 'quick' : 'full'}, ${results.meta.datasets.join(', ')}, node ${process.version})\n`);
  console.log(markdownTable(targets));
  console.log(`\nwritten: ${path.relative(process.cwd(), file)}`);
  if (full) {
    updateReadme();
    console.log('README.md Performance table regenerated from it');
  }

  const strictMissed = targets.filter((t) => t.strict && isMissed(t.verdict)).map((t) => t.key);
  if (Object.keys(failed).length > 0) {
    return 1;
  }
  if (process.env.BENCH_STRICT === '1' && strictMissed.length > 0) {
    console.error(`strict targets missed: ${strictMissed.join(', ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
