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
