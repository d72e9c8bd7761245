/**
 * The ESM build of `cdk-codepipeline-invoke/runtime` (and `/runtime/core`) and `cdk-codepipeline-invoke/local`:
 * lib-esm/**.mjs, served through the `import` condition of package.json `exports` (jsii compiles src/ to the CommonJS
 * lib/ served through `require`). Runs after compile (`post-compile`); tests and the bench call `buildEsm` too.
 *
 * The runtime is built with code splitting, one module graph for both entry points, so that a bundler drops what a
 * handler does not import (`sideEffects: false`). Its lazy `require()`s (the zip libraries, multipart upload, the JSON
 * Schema checker: loaded on first use in the CommonJS build) become static imports of the modules that use them: in
 * ESM a bundler keeps them only when those modules are reached, and a synchronous lazy load has no ESM form that
 * bundlers follow (an ESM `require` made with createRequire is invisible to them, and would not find the packages in
 * a bundled Lambda function).
 *
 * The local tooling (Node.js only, never bundled into a Lambda function) keeps its lazy and optional `require()`s
 * (esbuild for TypeScript handlers, CommonJS handler files) through a `createRequire` banner.
 */
import * as fs from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- build tooling, never shipped code
import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..');

/** `require('x')` written as a call on its own (not `require.extensions`, not in a comment line). */
const LAZY_REQUIRE = /\brequire\((['"])([^'"]+)\1\)/g;

/** Builds lib-esm/ (or `outDir`); returns the files written. */
export async function buildEsm(outDir: string = path.join(ROOT, 'lib-esm')): Promise<string[]> {
  fs.rmSync(outDir, { recursive: true, force: true });
  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    sourcemap: false,
    logLevel: 'error',
    absWorkingDir: ROOT,
    metafile: true,
  };
  const runtime = await esbuild.build({
    ...common,
    // Every module its own entry point (with splitting, each becomes its own file importing the others): a bundler
    // can then drop a whole module, the static imports of its packages included, when the handler does not use it.
    entryPoints: ['runtime', 'shared'].flatMap((dir) =>
      fs
        // Recursive: runtime/zip/ holds the zip modules, each its own entry point like the others.
        .readdirSync(path.join(ROOT, 'src', dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
        .map((file) => path.join(ROOT, 'src', dir, file)),
    ),
    outbase: path.join(ROOT, 'src'),
    outdir: outDir,
    splitting: true,
    chunkNames: 'runtime/chunks/[name]-[hash]',
    plugins: [hoistLazyRequires()],
  });
  const local = await esbuild.build({
    ...common,
    entryPoints: { 'local/index': path.join(ROOT, 'src/local/index.ts') },
    outdir: outDir,
    banner: {
      js: [
        "import { createRequire as __cpiCreateRequire } from 'module';",
        "import { fileURLToPath as __cpiFileURLToPath } from 'url';",
        'const require = __cpiCreateRequire(import.meta.url);',
        'const __filename = __cpiFileURLToPath(import.meta.url);',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join('\n'),
    },
  });
  return [...Object.keys(runtime.metafile!.outputs), ...Object.keys(local.metafile!.outputs)];
}

/**
 * Rewrites the runtime's lazy `require('x')` into a static import of `x` (see the module comment): relative modules and
 * ESM packages as a namespace, CommonJS packages as their `module.exports` (the default import).
 */
function hoistLazyRequires(): esbuild.Plugin {
  return {
    name: 'hoist-lazy-requires',
    setup(build) {
      build.onLoad({ filter: /[\\/]src[\\/](runtime|shared)[\\/].*\.ts$/ }, async (args) => {
        const source = await fs.promises.readFile(args.path, 'utf8');
        const imports: string[] = [];
        const contents = source
          .split('\n')
          .map((line) => {
            if (/^\s*(\/\/|\*|\/\*)/.test(line)) return line;
            return line.replace(LAZY_REQUIRE, (_call: string, _quote, specifier: string) => {
              const name = `__lazy${imports.length}`;
              const namespace = specifier.startsWith('.') || specifier.startsWith('@aws-sdk/');
              imports.push(namespace ? `import * as ${name} from '${specifier}';` : `import ${name} from '${specifier}';`);
              return name;
            });
          })
          .join('\n');
        return { contents: imports.length === 0 ? source : `${imports.join('\n')}\n${contents}`, loader: 'ts' };
      });
    },
  };
}

if (require.main === module) {
  buildEsm()
    .then((files) => console.log(`ESM build: ${files.length} files in lib-esm/`))
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}
