/**
 * Synth overhead: the same pipeline with N invoke stages, built with plain aws-cdk-lib (baseline) and with
 * `LambdaInvokeStage` (candidate), each synthesized in a fresh process, interleaved, median of an odd number of runs.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { SynthChildResult } from './synth-child';
import { compile, PROJECT_ROOT, SCRATCH_DIR, sourcesExist } from '../lib/build';
import { childEnv, runNodeChild } from '../lib/child';
import { estimateFigures, median, pairedRatio, round, roundRobin } from '../lib/stats';
import type { BenchConfig, Figures } from '../run';

const OUT = path.join(SCRATCH_DIR, 'synth');
/** The stage count of the design target (synthRatio50 <= 1.15). */
const TARGET_STAGES = 50;

export async function synthSuite(config: BenchConfig): Promise<Figures> {
  if (!sourcesExist('src/lambda-invoke-stage.ts', 'src/user-parameters.ts', 'src/user-parameters-schema.ts')) {
    return { skipped: 'LambdaInvokeStage has not landed in src/ yet' };
  }
  const child = await compile(path.join(__dirname, 'synth-child.ts'), path.join(OUT, 'synth-child.js'));
  const baselineApp = await compile(path.join(__dirname, 'baseline-app.ts'), path.join(OUT, 'baseline-app.js'));
  const candidateApp = await compile(path.join(__dirname, 'candidate-app.ts'), path.join(OUT, 'candidate-app.js'));
  ensureCrashReporterBundled();

  const figures: Figures = {};
  const samples: Record<string, unknown> = {};
  for (const stages of config.synthStages) {
    const runs = stages === TARGET_STAGES ? config.synthRunsAt50 : config.synthRuns;
    const synthOnce = (app: string, label: string, env: NodeJS.ProcessEnv = {}) => async (i: number) => {
      const outdir = path.join(OUT, `cdk.out-${label}-${stages}-${i}`);
      try {
        const { result } = await runNodeChild<SynthChildResult>(child.outfile, {
          args: [app, String(stages), outdir],
          cwd: PROJECT_ROOT,
          env: childEnv(env),
        });
        return result;
      } finally {
        fs.rmSync(outdir, { recursive: true, force: true });
      }
    };
    // At the target size, a third variant: the candidate without crash reporting, to show what that feature costs.
    const variants = [synthOnce(baselineApp.outfile, 'baseline'), synthOnce(candidateApp.outfile, 'candidate')];
    if (stages === TARGET_STAGES) {
      variants.push(synthOnce(candidateApp.outfile, 'candidate-no-crash', { BENCH_REPORT_CRASHES: 'false' }));
    }
    const [baselineRuns, candidateRuns, noCrashRuns] = await roundRobin(runs, variants);
    const pair = { baseline: baselineRuns, candidate: candidateRuns };
    // The ratio compares CPU time: synth is single-threaded work, and CPU time is far less disturbed than wall time
    // by whatever else runs on the (shared) cores. Wall times are kept beside it.
    const baselineMs = median(pair.baseline.map((r) => r.synthCpuMs));
    const candidateMs = median(pair.candidate.map((r) => r.synthCpuMs));
    // The headline ratio: the geometric mean of the per-round ratios (each round's runs saw the same machine state),
    // with its 95 % interval: a figure near the target is only "met" when its interval stays under it too.
    Object.assign(figures, estimateFigures(`synthRatio${stages}`, pairedRatio(pair.candidate.map((r) => r.synthCpuMs), pair.baseline.map((r) => r.synthCpuMs))));
    figures[`synthMedianRatio${stages}`] = round(candidateMs / baselineMs);
    figures[`synthBaselineMs${stages}`] = round(baselineMs, 1);
    figures[`synthCandidateMs${stages}`] = round(candidateMs, 1);
    // The median of the per-round ratios: each round's two runs saw the same machine state.
    figures[`synthPairedRatio${stages}`] = round(median(pair.candidate.map((r, i) => r.synthCpuMs / pair.baseline[i].synthCpuMs)));
    // The ratio of the fastest runs: the least disturbed estimate of each side's own cost.
    figures[`synthMinRatio${stages}`] = round(Math.min(...pair.candidate.map((r) => r.synthCpuMs)) / Math.min(...pair.baseline.map((r) => r.synthCpuMs)));
    if (noCrashRuns) {
      const noCrashMs = median(noCrashRuns.map((r) => r.synthCpuMs));
      Object.assign(figures, estimateFigures(`synthRatio${stages}WithoutCrashReporting`, pairedRatio(noCrashRuns.map((r) => r.synthCpuMs), pair.baseline.map((r) => r.synthCpuMs))));
      figures[`synthCandidateWithoutCrashReportingMs${stages}`] = round(noCrashMs, 1);
      samples[`synthCpuMs${stages}WithoutCrashReporting`] = noCrashRuns.map((r) => round(r.synthCpuMs, 0));
    }
    const baselineWallMs = median(pair.baseline.map((r) => r.synthMs));
    const candidateWallMs = median(pair.candidate.map((r) => r.synthMs));
    figures[`synthWallRatio${stages}`] = round(candidateWallMs / baselineWallMs);
    figures[`synthBaselineWallMs${stages}`] = round(baselineWallMs, 1);
    figures[`synthCandidateWallMs${stages}`] = round(candidateWallMs, 1);
    figures[`synthRuns${stages}`] = runs;
    const baselineTemplate = pair.baseline[0];
    const candidateTemplate = pair.candidate[0];
    figures[`templateBytesBaseline${stages}`] = baselineTemplate.templateBytes;
    figures[`templateBytesCandidate${stages}`] = candidateTemplate.templateBytes;
    figures[`templateBytesRatio${stages}`] = round(candidateTemplate.templateBytes / baselineTemplate.templateBytes);
    const baselineLambdas = baselineTemplate.resourceCounts['AWS::Lambda::Function'] ?? 0;
    const candidateLambdas = candidateTemplate.resourceCounts['AWS::Lambda::Function'] ?? 0;
    figures[`lambdaFunctionsBaseline${stages}`] = baselineLambdas;
    figures[`lambdaFunctionsCandidate${stages}`] = candidateLambdas;
    figures[`extraLambdaFunctions${stages}`] = candidateLambdas - baselineLambdas;
    samples[`synthCpuMs${stages}`] = {
      baseline: pair.baseline.map((r) => round(r.synthCpuMs, 0)),
      candidate: pair.candidate.map((r) => round(r.synthCpuMs, 0)),
    };
    if (stages === TARGET_STAGES) {
      figures.resourceCountsBaseline50 = baselineTemplate.resourceCounts;
      figures.resourceCountsCandidate50 = candidateTemplate.resourceCounts;
    }
    config.log(
      `synth ${stages} stages: CPU baseline ${round(baselineMs, 0)} ms, candidate ${round(candidateMs, 0)} ms; ` +
        `wall ${round(baselineWallMs, 0)} / ${round(candidateWallMs, 0)} ms (${runs} runs each)`,
    );
  }
  figures.perStageExtraLambdaFunctions = perStageGrowth(figures, config.synthStages);
  return { ...figures, samples };
}

/**
 * Lambda functions the candidate adds beyond the user's, per extra stage: 0 when its helpers are singletons (the README's Performance targets:
 * "the template grows by no per-stage Lambda beyond the user's own").
 */
function perStageGrowth(figures: Figures, stages: number[]): number | null {
  const fewest = Math.min(...stages);
  const most = Math.max(...stages);
  const atFewest = figures[`extraLambdaFunctions${fewest}`];
  const atMost = figures[`extraLambdaFunctions${most}`];
  if (typeof atFewest !== 'number' || typeof atMost !== 'number' || most === fewest) {
    return null;
  }
  return round((atMost - atFewest) / (most - fewest));
}

/**
 * The crash reporter's code is bundled by projen's `bundle` task into assets/ (the bench task runs it first); without
 * it the candidate's `Code.fromAsset` fails at synth, so say what to run.
 */
function ensureCrashReporterBundled(): void {
  const src = path.join(PROJECT_ROOT, 'src', 'crash-reporter.lambda.ts');
  const asset = path.join(PROJECT_ROOT, 'assets', 'crash-reporter.lambda', 'index.js');
  if (fs.existsSync(src) && !fs.existsSync(asset)) {
    throw new Error(`${asset} is missing: run \`npx projen bundle\` (the bench task does) before the synth benchmark`);
  }
}
