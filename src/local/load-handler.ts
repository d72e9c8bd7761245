/**
 * Loads a Lambda handler from `'path/to/file.js#exportName'` (export `handler` when no name is given), as Lambda's
 * `Handler` setting names it. `.ts`/`.mts`/`.cts` files are compiled on the fly with esbuild (a require hook using
 * `esbuild.transformSync`, installed only if nothing such as ts-node or jest already handles `.ts`), so relative
 * imports of other TypeScript files and node_modules resolve as they do for the real bundle.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pathToFileURL } from 'url';

/** What Lambda calls: an async handler (Node.js 24 dropped callback-style handlers). */
export type LambdaHandler = (event: unknown, context: LambdaContextLike) => unknown;

/** The parts of the Lambda context a handler uses (`@types/aws-lambda` Context is assignable). */
export interface LambdaContextLike {
  readonly functionName: string;
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
  readonly [key: string]: unknown;
}

/** A handler reference that could not be loaded; the message says what to fix. */
export class HandlerLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerLoadError';
  }
}

const TS_EXTENSIONS = ['.ts', '.mts', '.cts'];

/** Splits `'file#export'` into its parts (the default export name is `handler`). */
export function parseHandlerReference(reference: string): { file: string; exportName: string } {
  const hash = reference.lastIndexOf('#');
  const file = hash < 0 ? reference : reference.slice(0, hash);
  const exportName = hash < 0 ? 'handler' : reference.slice(hash + 1);
  if (file === '' || exportName === '') {
    throw new HandlerLoadError(`invalid handler reference ${JSON.stringify(reference)}: use path/to/file.js#exportName (e.g. lib/handler.js#handler)`);
  }
  return { file, exportName };
}

/** Loads the handler `reference` names, resolving the file against `cwd`. */
export async function loadHandler(reference: string, cwd: string = process.cwd()): Promise<LambdaHandler> {
  const { file, exportName } = parseHandlerReference(reference);
  const resolved = path.resolve(cwd, file);
  if (!fs.existsSync(resolved)) {
    throw new HandlerLoadError(`handler file not found: ${resolved} (from ${JSON.stringify(reference)}). Check the path; it is relative to ${cwd}.`);
  }
  const ext = path.extname(resolved);
  if (TS_EXTENSIONS.includes(ext)) installTypeScriptHook();
  let mod: object;
  try {
    mod = await importModule(resolved, ext);
  } catch (err) {
    // A SyntaxError's message names neither file nor line; its stack starts with `file:line` for CommonJS.
    if (err instanceof SyntaxError) {
      const at = /^(\/[^\n]*?|[A-Za-z]:\\[^\n]*?|file:\/\/[^\n]*?):(\d+)\s*$/m.exec(err.stack ?? '');
      throw new HandlerLoadError(`${at ? `${at[1]}, line ${at[2]}` : resolved}: SyntaxError: ${err.message} (loading handler ${JSON.stringify(reference)})`);
    }
    throw err;
  }
  const fn = exportOf(mod, exportName);
  if (typeof fn !== 'function') {
    const exported = Object.keys(mod).filter((k) => typeof (mod as Record<string, unknown>)[k] === 'function');
    throw new HandlerLoadError(
      `${resolved} has no function export ${JSON.stringify(exportName)}` +
        (exported.length > 0 ? `; its function exports are: ${exported.join(', ')}. Use ${file}#<one of them>.` : '.'),
    );
  }
  return fn as LambdaHandler;
}

function exportOf(mod: object, name: string): unknown {
  const value = (mod as Record<string, unknown>)[name];
  if (value !== undefined) return value;
  // An ES module imported from CommonJS keeps its exports under `default`.
  const fallback = (mod as { default?: Record<string, unknown> }).default;
  return typeof fallback === 'object' && fallback !== null ? fallback[name] : undefined;
}

async function importModule(file: string, ext: string): Promise<object> {
  if (ext === '.mjs') return import(pathToFileURL(file).href) as Promise<object>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as object;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') return import(pathToFileURL(file).href) as Promise<object>;
    throw err;
  }
}

type RequireHook = (module: NodeJS.Module & { _compile(code: string, filename: string): void }, filename: string) => void;

/** Teaches `require` to load TypeScript through esbuild, unless something (ts-node, jest) already does. */
function installTypeScriptHook(): void {
  const extensions = require.extensions as unknown as Record<string, RequireHook | undefined>;
  if (extensions['.ts']) return;
  let esbuild: typeof import('esbuild');
  try {
    // esbuild is optional: only TypeScript handlers need it, and the user's project has it for NodejsFunction bundling.
    // eslint-disable-next-line @typescript-eslint/no-require-imports, import/no-extraneous-dependencies
    esbuild = require('esbuild') as typeof import('esbuild');
  } catch {
    throw new HandlerLoadError(
      'running a TypeScript handler needs esbuild: install it (npm install --save-dev esbuild), or compile the handler to JavaScript and pass the .js file',
    );
  }
  const hook: RequireHook = (module, filename) => {
    const source = fs.readFileSync(filename, 'utf8');
    const { code } = esbuild.transformSync(source, {
      loader: 'ts',
      format: 'cjs',
      target: `node${process.versions.node.split('.')[0]}`,
      sourcefile: filename,
      sourcemap: 'inline',
    });
    module._compile(code, filename);
  };
  for (const ext of TS_EXTENSIONS) extensions[ext] = hook;
  // Stack traces then point at the TypeScript lines.
  process.setSourceMapsEnabled?.(true);
}
