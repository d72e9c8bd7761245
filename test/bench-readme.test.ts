/**
 * The benchmarks' bookkeeping (bench/targets.ts, bench/readme.ts): the README's Performance table is the one generated
 * from the newest committed results, and a target cannot pass by not being measured.
 */
import * as fs from 'fs';
import { pairedRatio } from '../bench/lib/stats';
import { newestResultsFile, README, readmeIsCurrent, renderSection, withSection } from '../bench/readme';
import { TARGETS, targetResults, verdictOf } from '../bench/targets';

test("the README's Performance table is the one generated from the newest bench/results file", () => {
  const file = newestResultsFile();
  const expected = withSection(fs.readFileSync(README, 'utf8'), renderSection(file));
  expect({ current: readmeIsCurrent(), from: file ?? 'no results yet' }).toEqual({ current: true, from: file ?? 'no results yet' });
  expect(expected).toContain(file === undefined ? 'No full run is committed yet' : 'From [`bench/results/');
});

test('a target whose suite ran but did not report it is missed, not "not measured"', () => {
  const upload = TARGETS.find((t) => t.key === 'uploadSpeedVsZipModules')!;
  expect(verdictOf(upload, {}, { suites: ['upload'] })).toBe('missed');
  expect(verdictOf(upload, {}, { suites: ['synth'] })).toBe('not run');
});

test('a figure on the right side of its line whose interval crosses it is flagged', () => {
  const synth = TARGETS.find((t) => t.key === 'synthRatio50')!;
  const scope = { suites: ['synth'] };
  expect(verdictOf(synth, { synthRatio50: 1.12, synthRatio50Interval: [1.1, 1.14] }, scope)).toBe('met');
  expect(verdictOf(synth, { synthRatio50: 1.14, synthRatio50Interval: [1.12, 1.17] }, scope)).toBe('met (interval crosses the line)');
  expect(verdictOf(synth, { synthRatio50: 1.16, synthRatio50Interval: [1.13, 1.19] }, scope)).toBe('missed (interval crosses the line)');
});

test('the three handler bundle targets have the limits of the README and fail when the handler suite left them out', () => {
  const results = targetResults({ handlerBundleBytes: 28_000, handlerBundleBytesReads: 82_000 }, { suites: ['handler'] });
  expect(results.filter((r) => r.key.startsWith('handlerBundleBytes')).map((r) => [r.key, r.target, r.verdict])).toEqual([
    ['handlerBundleBytes', '≤ 40960', 'met'],
    ['handlerBundleBytesReads', '≤ 81920', 'missed'],
    ['handlerBundleBytesEverything', '≤ 133120', 'missed'],
  ]);
});

test('the ESM and CJS sizes the handler suite reports beside the targets are carried, with the limit it gives', () => {
  const results = targetResults({ handlerBundleBytesMinimalEsm: 39_000, handlerBundleBytesMinimalEsmMaxBytes: 40_960, handlerBundleBytesAllCjs: 140_000 }, { suites: ['handler'] });
  const extra = results.filter((r) => r.key.startsWith('handlerBundleBytes') && !['handlerBundleBytes', 'handlerBundleBytesReads', 'handlerBundleBytesEverything'].includes(r.key));
  expect(extra.map((r) => [r.key, r.verdict])).toEqual([
    ['handlerBundleBytesMinimalEsm', 'met'],
    ['handlerBundleBytesAllCjs', 'no target'],
  ]);
});

test('a paired ratio is the geometric mean of the per-round ratios, with an interval around it', () => {
  const estimate = pairedRatio([110, 220, 330], [100, 200, 300]);
  expect(estimate.value).toBeCloseTo(1.1, 10);
  expect(estimate.low).toBeCloseTo(1.1, 10); // every round gave exactly 1.1: no spread
  const spread = pairedRatio([100, 130, 115, 120, 105], [100, 100, 100, 100, 100]);
  expect(spread.low).toBeLessThan(spread.value);
  expect(spread.high).toBeGreaterThan(spread.value);
});
