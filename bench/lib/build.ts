/**
 * Compiles bench child scripts (and the library code they import from src/) to plain JavaScript with esbuild before
 * anything is timed, so no measurement includes ts-node's compiler and `npm ci` is enough (no jsii build).
 */
import * as fs from 'fs';
import * as path from 'path';
// eslint-disable-next-line import/no-extraneous-dependencies -- bench/ is development tooling, never shipped code
import * as esbuild from 'esbuild';

/** The project root (bench/lib/../..). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Scratch space for compiled children and extracted artifacts. Inside the project so that `require` of packages from a
 * compiled child resolves to the project's node_modules, and gitignored (/tmp/).
 */
export const SCRATCH_DIR = path.join(PROJECT_ROOT, 'tmp', 'bench');

/** Cached generated inputs (artifacts); gitignored, survives between runs. */
export const CACHE_DIR = path.join(PROJECT_ROOT, 'bench', '.cache');

export interface CompileOptions {
  /** Bundle node_modules too, except these (handler-size measurement). Default: keep every package external. */
  readonly bundlePackages?: boolean;
  readonly external?: string[];
  readonly minify?: boolean;
  readonly target?: string;
  /** Write an esbuild metafile next to the output (for profiling bundle size). */
  readonly metafile?: boolean;
}

export interface Compiled {
  readonly outfile: string;
  readonly bytes: number;
  readonly metafile?: esbuild.Metafile;
}

/**
 * Bundles `entry` (a .ts file under bench/ or src/) into `outfile` as CommonJS for Node. Project sources are bundled;
 * packages stay external unless `bundlePackages` is set.
 *
 * Sources that use `__dirname` to find files next to them (projen's generated `XxxFunction` finds its
 * `../assets/<name>.lambda` this way) get their original folder substituted, so they behave as they do unbundled.
 */
export async function compile(entry: string, outfile: string, options: CompileOptions = {}): Promise<Compiled> {
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: options.target ?? 'node20',
    minify: options.minify ?? false,
    sourcemap: false,
    packages: options.bundlePackages ? undefined : 'external',
    external: options.external,
    metafile: options.metafile ?? false,
    logLevel: 'silent',
    plugins: [keepSourceDirname()],
  });
  return { outfile, bytes: fs.statSync(outfile).size, metafile: result.metafile };
}

/** Replaces `__dirname` in project sources by the source file's own folder (see `compile`). */
function keepSourceDirname(): esbuild.Plugin {
  return {
    name: 'keep-source-dirname',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (!args.path.startsWith(PROJECT_ROOT + path.sep) || args.path.includes(`${path.sep}node_modules${path.sep}`)) {
          return undefined;
        }
        const source = await fs.promises.readFile(args.path, 'utf8');
        if (!source.includes('__dirname')) {
          return undefined;
        }
        return {
          contents: source.replace(/\b__dirname\b/g, JSON.stringify(path.dirname(args.path))),
          loader: 'ts',
        };
      });
    },
  };
}

/** True when every one of the given project files exists (a candidate whose code has not landed yet is skipped). */
export function sourcesExist(...relativePaths: string[]): boolean {
  return relativePaths.every((p) => fs.existsSync(path.join(PROJECT_ROOT, p)));
}
