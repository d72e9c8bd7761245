/**
 * Handler size and cold import: the runtime as a user's Lambda bundle carries it (esbuild, minified, `@aws-sdk/*`
 * external because the Lambda Node.js runtime provides it, node22 target).
 */
import * as path from 'path';
import { compile, CompileOptions, PROJECT_ROOT, SCRATCH_DIR, sourcesExist } from '../lib/build';
import { runNodeChild } from '../lib/child';
import { estimateFigures, interleaved, median, pairedDifference, pairedRatio, round } from '../lib/stats';
import type { BenchConfig, Figures } from '../run';

const OUT = path.join(SCRATCH_DIR, 'handler');

/** How a user's handler is bundled for Lambda (the README's Performance section). */
const LAMBDA_BUNDLE: CompileOptions = {
  bundlePackages: true,
  external: ['@aws-sdk/*'],
  minify: true,
  target: 'node22',
  metafile: true,
};

/** The handler bundle sizes come from the packed package: bench/bundle/suite.ts. */
export { bundleSuite as handlerSizeSuite } from '../bundle/suite';

export async function importSuite(config: BenchConfig): Promise<Figures> {
  if (!sourcesExist('src/runtime/index.ts')) {
    return { skipped: 'src/runtime has not landed yet' };
  }
  const runtime = await compile(path.join(PROJECT_ROOT, 'src', 'runtime', 'index.ts'), path.join(OUT, 'runtime', 'index.js'), LAMBDA_BUNDLE);
  const sdkChild = await compile(path.join(__dirname, 'import-sdk-child.ts'), path.join(OUT, 'import-sdk-child.js'));
  const runtimeChild = await compile(path.join(__dirname, 'import-runtime-child.ts'), path.join(OUT, 'import-runtime-child.js'));
  type Result = { importMs: number; importCpuMs: number };
  const pair = await interleaved(
    config.importRuns,
    async () => (await runNodeChild<Result>(sdkChild.outfile, { cwd: PROJECT_ROOT })).result,
    async () => (await runNodeChild<Result>(runtimeChild.outfile, { args: [runtime.outfile], cwd: PROJECT_ROOT })).result,
  );
  // Module loading is synchronous work on one thread: its CPU time equals its wall time on an idle machine and is
  // barely disturbed by other load on the shared cores, so the headline figure uses CPU time; wall time is kept too.
  const sdkMs = median(pair.baseline.map((r) => r.importCpuMs));
  const runtimeMs = median(pair.candidate.map((r) => r.importCpuMs));
  const sdkWallMs = median(pair.baseline.map((r) => r.importMs));
  const runtimeWallMs = median(pair.candidate.map((r) => r.importMs));
  config.log(
    `import: SDK clients ${round(sdkMs, 1)} ms CPU (${round(sdkWallMs, 1)} wall), runtime ${round(runtimeMs, 1)} ms CPU ` +
      `(${round(runtimeWallMs, 1)} wall), ${config.importRuns} runs each`,
  );
  const runtimeCpu = pair.candidate.map((r) => r.importCpuMs);
  const sdkCpu = pair.baseline.map((r) => r.importCpuMs);
  return {
    // Paired by round (the two imports ran back to back): the mean difference and the mean ratio, with 95 % intervals.
    ...estimateFigures('runtimeImportOverheadMs', pairedDifference(runtimeCpu, sdkCpu), 1),
    ...estimateFigures('runtimeImportRatio', pairedRatio(runtimeCpu, sdkCpu)),
    runtimeImportOverheadMedianDifferenceMs: round(runtimeMs - sdkMs, 1),
    runtimeImportOverheadWallMs: round(runtimeWallMs - sdkWallMs, 1),
    // Fastest run of each side: the least disturbed estimate when other load makes the samples bimodal.
    runtimeImportOverheadMinMs: round(Math.min(...runtimeCpu) - Math.min(...sdkCpu), 1),
    importSdkClientsMs: round(sdkMs, 1),
    importRuntimeMs: round(runtimeMs, 1),
    importSdkClientsWallMs: round(sdkWallMs, 1),
    importRuntimeWallMs: round(runtimeWallMs, 1),
    runtimeBundleBytes: runtime.bytes,
    importRuns: config.importRuns,
    samples: {
      importCpuMs: {
        baseline: pair.baseline.map((r) => round(r.importCpuMs, 1)),
        candidate: pair.candidate.map((r) => round(r.importCpuMs, 1)),
      },
    },
  };
}
