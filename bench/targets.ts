/**
 * The targets of the README's Performance targets, their verdicts, and the table `npx projen bench` prints and the README carries.
 *
 * A target whose suite was asked for but did not run (skipped, failed, or a key renamed away) is "missed", never "not
 * measured": a benchmark cannot pass by not running. Targets marked `strict` are the small set that is stable on a
 * 2-core CI machine (wide margins, or deterministic figures); with BENCH_STRICT=1 a missed one fails the run. The others
 * are reported.
 */
import type { Figures } from './run';

export interface Target {
  readonly key: string;
  readonly label: string;
  /** The suite that measures it (BENCH_ONLY names). */
  readonly suite: string;
  /** What it is compared with, in the same run. */
  readonly baseline: string;
  readonly max?: number;
  readonly min?: number;
  /** Part of the BENCH_STRICT=1 set. */
  readonly strict?: boolean;
}

const DATASETS = [
  { suffix: 'Media', label: 'media-heavy' },
  { suffix: 'Modules', label: 'node_modules-like' },
];

/** Per-dataset artifact targets (the README's Performance targets: ~200 MB each, at the same settings as the baseline). */
function artifactTargets(): Target[] {
  return DATASETS.flatMap(({ suffix, label }): Target[] => [
    { key: `uploadSpeedVsZip${suffix}`, label: `upload speed, ${label}`, suite: 'upload', baseline: '`zip -r -n <what ours stores>` + Upload', min: 1.0 },
    { key: `uploadSpeedVsZipDefaults${suffix}`, label: `upload speed, ${label}`, suite: 'upload', baseline: 'plain `zip -r` + Upload' },
    { key: `uploadSpeedVsArchiver${suffix}`, label: `upload speed, ${label}`, suite: 'upload', baseline: 'archiver + Upload', min: 1.0, strict: true },
    { key: `uploadPeakRssRatio${suffix}`, label: `upload peak RSS / baseline's, ${label}`, suite: 'upload', baseline: '`zip -r -n` + Upload', max: 1.3 },
    { key: `uploadPeakRssMb${suffix}`, label: `upload peak RSS (MB), ${label}`, suite: 'upload', baseline: '—', max: 160, strict: true },
    { key: `extractSpeedVsUnzip${suffix}`, label: `extract speed, ${label}`, suite: 'extract', baseline: 'GetObject + `unzip` (CRC checked)', min: 0.9 },
    { key: `extractSpeedVsAdmZip${suffix}`, label: `extract speed, ${label}`, suite: 'extract', baseline: 'GetObject + adm-zip' },
    { key: `extractSpeedVsYauzl${suffix}`, label: `extract speed, ${label}`, suite: 'extract', baseline: 'GetObject + yauzl' },
    { key: `extractPeakRssRatio${suffix}`, label: `extract peak RSS / baseline's, ${label}`, suite: 'extract', baseline: 'GetObject + `unzip`', max: 1.3 },
    { key: `extractPeakRssMb${suffix}`, label: `extract peak RSS (MB), ${label}`, suite: 'extract', baseline: '—', max: 160, strict: true },
  ]);
}

export const TARGETS: readonly Target[] = [
  { key: 'synthRatio50', label: 'synth time, 50 invoke stages (CPU, paired ratio)', suite: 'synth', baseline: 'plain aws-cdk-lib `LambdaInvokeAction`s', max: 1.15 },
  { key: 'synthRatio50WithoutCrashReporting', label: 'synth time, 50 stages, `reportCrashes: false`', suite: 'synth', baseline: 'plain aws-cdk-lib' },
  { key: 'perStageExtraLambdaFunctions', label: 'extra Lambda functions per added stage', suite: 'synth', baseline: '—', max: 0, strict: true },
  { key: 'runtimeImportOverheadMs', label: 'runtime import overhead (ms CPU, paired difference)', suite: 'import', baseline: 'importing the two SDK clients alone', max: 15, strict: true },
  // Handler bundles as consumers build them (bench/bundle/suite.ts: the packed package, esbuild, minified, `@aws-sdk/*`
  // external); each figure is the larger of the ESM and CJS bundles. Sizes are deterministic, so all three are strict.
  { key: 'handlerBundleBytes', label: 'handler bundle, reports only (bytes)', suite: 'handler', baseline: '—', max: 40_960, strict: true },
  { key: 'handlerBundleBytesReads', label: 'handler bundle, reads artifacts (bytes)', suite: 'handler', baseline: '—', max: 81_920, strict: true },
  { key: 'handlerBundleBytesEverything', label: 'handler bundle, reads + uploads + JSON Schema (bytes)', suite: 'handler', baseline: '—', max: 133_120, strict: true },
  { key: 'runtimeImportRatio', label: 'runtime import time / SDK clients alone (paired ratio)', suite: 'import', baseline: 'importing the two SDK clients alone' },
  ...artifactTargets(),
];

export type Verdict = 'met' | 'missed' | 'met (interval crosses the line)' | 'missed (interval crosses the line)' | 'no target' | 'not run';

/** Why a target has no value: its suite was left out on purpose (BENCH_ONLY), or it should have run. */
export interface RunScope {
  /** Suites asked for in this run. */
  readonly suites: readonly string[];
}

export function verdictOf(target: Target, figures: Figures, scope: RunScope): Verdict {
  const value = figures[target.key];
  if (typeof value !== 'number') {
    return scope.suites.includes(target.suite) && (target.max !== undefined || target.min !== undefined) ? 'missed' : 'not run';
  }
  if (target.max === undefined && target.min === undefined) {
    return 'no target';
  }
  const ok = (v: number) => (target.max === undefined || v <= target.max) && (target.min === undefined || v >= target.min);
  const interval = figures[`${target.key}Interval`];
  const crosses = Array.isArray(interval) && interval.length === 2 && ok(interval[0] as number) !== ok(interval[1] as number);
  if (ok(value)) return crosses ? 'met (interval crosses the line)' : 'met';
  return crosses ? 'missed (interval crosses the line)' : 'missed';
}

export function isMissed(verdict: Verdict): boolean {
  return verdict.startsWith('missed');
}

export interface TargetResult {
  readonly key: string;
  readonly label: string;
  readonly baseline: string;
  readonly value: number | null;
  readonly interval: [number, number] | null;
  readonly target: string;
  readonly strict: boolean;
  readonly verdict: Verdict;
}

/** Every target's verdict, then any handler bundle size the handler suite reported (`handlerBundleBytes*`). */
export function targetResults(figures: Figures, scope: RunScope): TargetResult[] {
  const results = TARGETS.map((t): TargetResult => {
    const value = figures[t.key];
    const interval = figures[`${t.key}Interval`];
    return {
      key: t.key,
      label: t.label,
      baseline: t.baseline,
      value: typeof value === 'number' ? value : null,
      interval: Array.isArray(interval) ? (interval as [number, number]) : null,
      target: t.max !== undefined ? `≤ ${t.max}` : t.min !== undefined ? `≥ ${t.min}` : '',
      strict: t.strict === true,
      verdict: verdictOf(t, figures, scope),
    };
  });
  // The handler suite also reports each bundle's ESM and CJS size (`handlerBundleBytes<Name><Esm|Cjs>`) beside the
  // targets above; they are listed without a target of their own.
  const listed = new Set(TARGETS.map((t) => t.key));
  for (const [key, value] of Object.entries(figures)) {
    if (!/^handlerBundleBytes/.test(key) || listed.has(key) || key.endsWith('MaxBytes') || typeof value !== 'number') continue;
    const max = figures[`${key}MaxBytes`];
    const target: Target = { key, label: 'handler bundle (bytes)', suite: 'handler', baseline: '—', max: typeof max === 'number' ? max : undefined };
    results.push({ key, label: target.label, baseline: '—', value, interval: null, target: typeof max === 'number' ? `≤ ${max}` : '', strict: false, verdict: verdictOf(target, figures, scope) });
  }
  return results;
}

/** The results as a markdown table: the README's Performance table and what `npx projen bench` prints. */
export function markdownTable(results: readonly TargetResult[]): string {
  const rows = [['what', 'baseline (same run)', 'figure (95 % interval)', 'target', 'verdict']];
  for (const r of results) {
    const figure = r.value === null ? '—' : r.interval ? `${r.value} (${r.interval[0]}–${r.interval[1]})` : String(r.value);
    rows.push([`${r.label} (\`${r.key}\`)`, r.baseline, figure, r.target, `${r.verdict}${r.strict ? ' (strict)' : ''}`]);
  }
  return [`| ${rows[0].join(' | ')} |`, `|${rows[0].map(() => '---').join('|')}|`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
