/** The targets of design §6 and the table `npx projen bench` prints. */
import type { BenchConfig, Figures } from './run';

export interface Target {
  readonly key: string;
  readonly label: string;
  /** The raw figures shown beside the value: baseline, candidate. */
  readonly baselineKey?: string;
  readonly candidateKey?: string;
  readonly unit?: string;
  readonly max?: number;
  readonly min?: number;
}

export const TARGETS: readonly Target[] = [
  { key: 'synthRatio1', label: 'synth, 1 stage (ratio)', baselineKey: 'synthBaselineMs1', candidateKey: 'synthCandidateMs1', unit: 'ms' },
  { key: 'synthRatio10', label: 'synth, 10 stages (ratio)', baselineKey: 'synthBaselineMs10', candidateKey: 'synthCandidateMs10', unit: 'ms' },
  { key: 'synthRatio50', label: 'synth, 50 stages (ratio)', baselineKey: 'synthBaselineMs50', candidateKey: 'synthCandidateMs50', unit: 'ms', max: 1.15 },
  { key: 'synthPairedRatio50', label: 'synth, 50 stages (median of per-round ratios)' },
  { key: 'synthMinRatio50', label: 'synth, 50 stages (ratio of fastest runs)' },
  { key: 'synthRatio50WithoutCrashReporting', label: 'synth, 50 stages, reportCrashes: false (ratio)', baselineKey: 'synthBaselineMs50', candidateKey: 'synthCandidateWithoutCrashReportingMs50', unit: 'ms' },
  { key: 'synthRatio100', label: 'synth, 100 stages (ratio)', baselineKey: 'synthBaselineMs100', candidateKey: 'synthCandidateMs100', unit: 'ms' },
  { key: 'templateBytesRatio50', label: 'template size, 50 stages (ratio)', baselineKey: 'templateBytesBaseline50', candidateKey: 'templateBytesCandidate50', unit: 'B' },
  { key: 'extraLambdaFunctions50', label: 'Lambda functions beyond the user\'s, 50 stages', baselineKey: 'lambdaFunctionsBaseline50', candidateKey: 'lambdaFunctionsCandidate50' },
  { key: 'perStageExtraLambdaFunctions', label: 'extra Lambda functions per added stage', max: 0 },
  { key: 'handlerBundleBytes', label: 'minimal handler bundle, packed package (bytes, larger of ESM/CJS)', baselineKey: 'handlerBundleBytesMinimalEsm', candidateKey: 'handlerBundleBytesMinimalCjs', max: 40_960 },
  { key: 'handlerBundleBytesReads', label: 'handler reading artifacts, packed package (bytes)', baselineKey: 'handlerBundleBytesReadsEsm', candidateKey: 'handlerBundleBytesReadsCjs', max: 81_920 },
  { key: 'handlerBundleBytesEverything', label: 'handler reading, uploading, JSON Schema (bytes)', baselineKey: 'handlerBundleBytesEverythingEsm', candidateKey: 'handlerBundleBytesEverythingCjs', max: 133_120 },
  { key: 'runtimeImportOverheadMs', label: 'runtime import overhead (ms)', baselineKey: 'importSdkClientsMs', candidateKey: 'importRuntimeMs', unit: 'ms', max: 15 },
  { key: 'runtimeImportOverheadMinMs', label: 'runtime import overhead, fastest runs (ms)' },
  { key: 'extractPeakRssMb', label: 'extract peak RSS (MB)', baselineKey: 'extractBaselinePeakRssMb', max: 150 },
  { key: 'extractSpeedVsUnzip', label: 'extract speed vs GetObject+unzip', baselineKey: 'extractBaselineMs', candidateKey: 'extractCandidateMs', unit: 'ms', min: 0.8 },
  { key: 'extractCpuEfficiencyVsBaseline', label: 'extract CPU time vs GetObject+unzip', baselineKey: 'extractBaselineCpuMs', candidateKey: 'extractCandidateCpuMs', unit: 'ms' },
  { key: 'uploadSpeedVsZip', label: 'upload speed vs zip -r+Upload', baselineKey: 'uploadBaselineMs', candidateKey: 'uploadCandidateMs', unit: 'ms', min: 0.8 },
  { key: 'uploadCpuEfficiencyVsBaseline', label: 'upload CPU time vs zip -r+Upload', baselineKey: 'uploadBaselineCpuMs', candidateKey: 'uploadCandidateCpuMs', unit: 'ms' },
  { key: 'uploadPeakRssMb', label: 'upload peak RSS (MB)', baselineKey: 'uploadBaselinePeakRssMb', max: 150 },
];

export type Verdict = 'met' | 'missed' | 'no target' | 'not measured';

export function verdictOf(target: Target, figures: Figures): Verdict {
  const value = figures[target.key];
  if (typeof value !== 'number') {
    return 'not measured';
  }
  if (target.max === undefined && target.min === undefined) {
    return 'no target';
  }
  const ok = (target.max === undefined || value <= target.max) && (target.min === undefined || value >= target.min);
  return ok ? 'met' : 'missed';
}

export function verdicts(figures: Figures): Record<string, Verdict> {
  return Object.fromEntries(TARGETS.map((t) => [t.key, verdictOf(t, figures)]));
}

/** Prints the results as a markdown table (pasteable into the README's Performance section). */
export function printTable(figures: Figures, config: BenchConfig): void {
  const rows = [['figure', 'baseline', 'candidate', 'value', 'target', 'verdict']];
  for (const target of TARGETS) {
    rows.push([
      `${target.label} \`${target.key}\``,
      raw(figures[target.baselineKey ?? ''], target.unit),
      raw(figures[target.candidateKey ?? ''], target.unit),
      raw(figures[target.key]),
      target.max !== undefined ? `<= ${target.max}` : target.min !== undefined ? `>= ${target.min}` : '',
      verdictOf(target, figures),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  console.log(`\ncdk-codepipeline-invoke bench (${config.quick ? 'quick' : 'full'}, ${config.dataset.name}, node ${process.version})\n`);
  console.log(line(rows[0]));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  rows.slice(1).forEach((r) => console.log(line(r)));
}

function raw(value: unknown, unit?: string): string {
  if (typeof value !== 'number') {
    return '';
  }
  return unit ? `${value} ${unit}` : String(value);
}
