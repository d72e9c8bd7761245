/**
 * Handler bundle size, measured the way consumers build (the README's Performance targets, issue #16): the PACKED package (`npm pack` after
 * compile, so lib/ and lib-esm/ as npm ships them) installed into a temporary app, three handlers bundled by esbuild
 * (minified, `@aws-sdk/*` external because the Lambda Node.js runtime provides it, node22), as ESM and as CommonJS:
 *
 * - minimal: reports a result only (jobHandler of `cdk-codepipeline-invoke/runtime/core`);
 * - reads: reads input artifacts (one file, and a whole extraction) (`/runtime/core` with `readArtifacts`);
 * - everything: reads, uploads, and checks a JSON Schema (jobHandler of `cdk-codepipeline-invoke/runtime`).
 *
 * The ESM bundles carry the createRequire banner that CommonJS dependencies need in an ESM bundle (as NodejsFunction
 * users set it), and every bundle is loaded once in Node.js to prove it is a working handler module.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Metafile } from 'esbuild';
// eslint-disable-next-line import/no-extraneous-dependencies -- bench/ is development tooling, never shipped code
import * as esbuild from 'esbuild';
import { buildEsm } from '../../scripts/build-esm';
import { PROJECT_ROOT, sourcesExist } from '../lib/build';
import type { BenchConfig, Figures } from '../run';

// The packed package is installed OUTSIDE the project, and removed afterwards: a copy of this package under the project
// folder (tmp/…/node_modules/cdk-codepipeline-invoke/.jsii) is taken by jsii-docgen for the package itself, so a later
// `npx projen docgen` would write API.md from that stale assembly.
const OUT = path.join(os.tmpdir(), 'cdk-codepipeline-invoke-bundle-bench');

const HANDLERS = {
  minimal: `
import { jobHandler } from 'cdk-codepipeline-invoke/runtime/core';
export const handler = jobHandler({}, async (job) => ({ outputVariables: { job: job.id }, summary: 'done' }));
`,
  reads: `
import { jobHandler, readArtifacts } from 'cdk-codepipeline-invoke/runtime/core';
export const handler = jobHandler({ use: [readArtifacts] }, async (job) => {
  const config = await job.inputArtifact('Source').readFile('app.json', 'utf8');
  const dir = await job.inputArtifact('Source').extractTo();
  return { summary: \`read \${config.length} characters, extracted to \${dir}\` };
});
`,
  everything: `
import { jobHandler } from 'cdk-codepipeline-invoke/runtime';
const schema = { type: 'object', properties: { environment: { enum: ['dev', 'prod'] } }, required: ['environment'] };
export const handler = jobHandler({ schema }, async (job) => {
  const config = await job.inputArtifact('Source').readFile('app.json');
  const dir = await job.inputArtifact('Source').extractTo();
  await job.outputArtifact('Out').uploadDirectory(dir);
  await job.outputArtifact('Report').uploadFiles({ 'config.json': config });
  return { summary: \`deployed to \${job.userParameters.environment}\` };
});
`,
} as const;

const TARGETS_BYTES = { minimal: 40 * 1024, reads: 80 * 1024, everything: 130 * 1024 } as const;

const ESM_BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

export async function bundleSuite(config: BenchConfig): Promise<Figures> {
  if (!sourcesExist('src/runtime/core.ts', 'scripts/build-esm.ts')) {
    return { skipped: 'the ESM build and runtime/core have not landed yet' };
  }
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  try {
    return await measureBundles(config, await installPackedPackage(config));
  } finally {
    fs.rmSync(OUT, { recursive: true, force: true });
  }
}

async function measureBundles(config: BenchConfig, app: string): Promise<Figures> {
  const figures: Record<string, number> = {};
  const largest: Record<string, Record<string, number>> = {};
  for (const [name, source] of Object.entries(HANDLERS) as Array<[keyof typeof HANDLERS, string]>) {
    const entry = path.join(app, `${name}.mjs`);
    fs.writeFileSync(entry, source);
    for (const format of ['esm', 'cjs'] as const) {
      const outfile = path.join(app, 'dist', `${name}.${format}.${format === 'esm' ? 'mjs' : 'js'}`);
      const result = await esbuild.build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        minify: true,
        platform: 'node',
        target: 'node22',
        format,
        external: ['@aws-sdk/*'],
        banner: format === 'esm' ? { js: ESM_BANNER } : undefined,
        metafile: true,
        logLevel: 'error',
        absWorkingDir: app,
      });
      assertLoads(outfile, app);
      const key = `handlerBundleBytes${capitalize(name)}${format === 'esm' ? 'Esm' : 'Cjs'}`;
      figures[key] = fs.statSync(outfile).size;
      if (format === 'esm') largest[name] = largestInputs(result.metafile, 6);
    }
    const worst = Math.max(figures[`handlerBundleBytes${capitalize(name)}Esm`], figures[`handlerBundleBytes${capitalize(name)}Cjs`]);
    config.log(`bundle ${name}: ESM ${figures[`handlerBundleBytes${capitalize(name)}Esm`]} B, CJS ${figures[`handlerBundleBytes${capitalize(name)}Cjs`]} B (target <= ${TARGETS_BYTES[name]})`);
    figures[name === 'minimal' ? 'handlerBundleBytes' : `handlerBundleBytes${capitalize(name)}`] = worst;
  }
  return { ...figures, handlerBundleLargestInputs: largest, handlerBundleFrom: 'npm pack' };
}

/**
 * Compiles (jsii + the ESM build), packs the package, and installs the tarball into a fresh app folder, offline and
 * without its peer dependencies (aws-cdk-lib, constructs: a handler never loads them). Returns the app folder.
 */
async function installPackedPackage(config: BenchConfig): Promise<string> {
  const started = Date.now();
  const env = { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20', NODE_NO_WARNINGS: '1' };
  if (!compiledIsCurrent()) {
    execFileSync('npx', ['projen', 'compile'], { cwd: PROJECT_ROOT, env, stdio: 'pipe' });
    await buildEsm();
  }
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', OUT], { cwd: PROJECT_ROOT, env, encoding: 'utf8' }).trim().split('\n').pop()!;
  const app = path.join(OUT, 'app');
  fs.mkdirSync(app, { recursive: true });
  const dependencies = { 'cdk-codepipeline-invoke': `file:${path.join(OUT, packed)}` };
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'bundle-bench-app', private: true, dependencies }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--ignore-scripts'], { cwd: app, env, stdio: 'pipe' });
  // `@aws-sdk/*` stays external, as the Lambda Node.js runtime provides it: the load check finds the project's copy.
  const sdk = path.join(app, 'node_modules', '@aws-sdk');
  if (!fs.existsSync(sdk)) fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules', '@aws-sdk'), sdk, 'dir');
  config.log(`bundle: compiled, packed ${packed} and installed it in ${Math.round((Date.now() - started) / 1000)} s`);
  return app;
}

/** Whether lib/ and lib-esm/ are newer than every source file (then compiling again would change nothing). */
function compiledIsCurrent(): boolean {
  const built = ['lib/index.js', 'lib/runtime/index.js', 'lib-esm/runtime/index.mjs'].map((f) => path.join(PROJECT_ROOT, f));
  if (!built.every((f) => fs.existsSync(f))) return false;
  const builtAt = Math.min(...built.map((f) => fs.statSync(f).mtimeMs));
  const newestSource = (dir: string): number =>
    Math.max(
      0,
      ...fs
        .readdirSync(dir, { withFileTypes: true })
        .map((e) => (e.isDirectory() ? newestSource(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).mtimeMs)),
    );
  return newestSource(path.join(PROJECT_ROOT, 'src')) < builtAt;
}

/** Imports the bundle in a fresh Node.js process: it must load and export a handler function. */
function assertLoads(outfile: string, cwd: string): void {
  const check =
    `import(${JSON.stringify(`file://${outfile}`)}).then((m) => { const h = m.handler ?? m.default?.handler; ` +
    "if (typeof h !== 'function') { console.error('no handler export'); process.exit(1); } })";
  execFileSync(process.execPath, ['-e', check], { cwd, stdio: 'pipe' });
}

function capitalize(text: string): string {
  return text[0].toUpperCase() + text.slice(1);
}

/** The inputs that contribute most bytes to a bundle: where to look when a size target is missed. */
function largestInputs(metafile: Metafile, count: number): Record<string, number> {
  const output = Object.values(metafile.outputs)[0];
  return Object.fromEntries(
    Object.entries(output.inputs)
      .map(([p, info]) => [p.replace(/^.*node_modules\//, ''), info.bytesInOutput] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, count),
  );
}
