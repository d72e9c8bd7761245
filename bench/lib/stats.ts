/**
 * Statistics for the benchmarks: medians of odd-sized samples, and an interleaved runner that measures a baseline and a
 * candidate side by side so that machine drift (other processes on the 2 shared cores, thermal state, page cache)
 * lands on both equally.
 */

/** The median of a sample; with an odd count it is an observed value, never an average of two. */
export function median(values: readonly number[]): number {
  if (values.length === 0) {
    throw new Error('median of an empty sample');
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Makes a run count odd (rounding up) so medians are observed values. */
export function oddRuns(count: number): number {
  const atLeastOne = Math.max(1, Math.floor(count));
  return atLeastOne % 2 === 1 ? atLeastOne : atLeastOne + 1;
}

/** Rounds to a number of decimals, for the table and results.json. */
export function round(value: number, decimals = 3): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export interface Pair<B, C = B> {
  readonly baseline: B[];
  readonly candidate: C[];
}

/**
 * Runs `baseline` and `candidate` `runs` times each, alternating which goes first in every round (ABBA order), so a
 * slow drift in machine speed affects both sides alike.
 */
export async function interleaved<B, C = B>(
  runs: number,
  baseline: (round: number) => Promise<B>,
  candidate: (round: number) => Promise<C>,
): Promise<Pair<B, C>> {
  const result: Pair<B, C> = { baseline: [], candidate: [] };
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      result.baseline.push(await baseline(i));
      result.candidate.push(await candidate(i));
    } else {
      result.candidate.push(await candidate(i));
      result.baseline.push(await baseline(i));
    }
  }
  return result;
}

/**
 * Like `interleaved`, for any number of variants: every round runs each once, the order rotating from round to round
 * so that no variant always runs first (or right after the same one).
 */
export async function roundRobin<T>(runs: number, variants: ReadonlyArray<(round: number) => Promise<T>>): Promise<T[][]> {
  const results: T[][] = variants.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (i + k) % variants.length;
      results[v].push(await variants[v](i));
    }
  }
  return results;
}

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (then the normal's 1.96). */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** A figure with its 95 % confidence interval. */
export interface Estimate {
  readonly value: number;
  readonly low: number;
  readonly high: number;
  readonly runs: number;
}

/** The mean of a sample with its 95 % t confidence interval (an interval of zero width from a single run). */
export function meanWithInterval(values: readonly number[]): Estimate {
  const n = values.length;
  if (n === 0) {
    throw new Error('mean of an empty sample');
  }
  const mean = values.reduce((sum, v) => sum + v, 0) / n;
  if (n === 1) {
    return { value: mean, low: mean, high: mean, runs: 1 };
  }
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  const half = (T_975[Math.min(n - 1, T_975.length) - 1] ?? 1.96) * Math.sqrt(variance / n);
  return { value: mean, low: mean - half, high: mean + half, runs: n };
}

/**
 * `numerator / denominator` from paired runs (round i of both sides ran back to back, so they saw the same machine):
 * the geometric mean of the per-round ratios with its 95 % interval, computed on their logarithms.
 */
export function pairedRatio(numerator: readonly number[], denominator: readonly number[]): Estimate {
  const n = Math.min(numerator.length, denominator.length);
  const logs = Array.from({ length: n }, (_, i) => Math.log(numerator[i] / denominator[i]));
  const { value, low, high } = meanWithInterval(logs);
  return { value: Math.exp(value), low: Math.exp(low), high: Math.exp(high), runs: n };
}

/** `candidate - baseline` from paired runs: the mean of the per-round differences with its 95 % interval. */
export function pairedDifference(candidate: readonly number[], baseline: readonly number[]): Estimate {
  const n = Math.min(candidate.length, baseline.length);
  return meanWithInterval(Array.from({ length: n }, (_, i) => candidate[i] - baseline[i]));
}

/** An estimate rounded for results.json: `[value, low, high]` under `<key>` and `<key>Interval`. */
export function estimateFigures(key: string, estimate: Estimate, decimals = 3): Record<string, number | number[]> {
  return { [key]: round(estimate.value, decimals), [`${key}Interval`]: [round(estimate.low, decimals), round(estimate.high, decimals)] };
}
