/**
 * Runs the `cdk-codepipeline-invoke` CLI as a subprocess, as a user would: src/local/cli.ts bundled once per test file
 * with esbuild (packages external, so node_modules resolve as for lib/local/cli.js), then `node cli.js ...`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildSync } from 'esbuild';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const ROOT = path.join(__dirname, '..', '..');

/** Bundles the CLI into a temporary folder inside the project (so node_modules resolve); returns the script path. */
export function buildCli(): string {
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'tmp', 'cli-'));
  const outfile = path.join(dir, 'cli.js');
  buildSync({ entryPoints: [path.join(ROOT, 'src', 'local', 'cli.ts')], bundle: true, platform: 'node', packages: 'external', outfile, logLevel: 'error' });
  return outfile;
}

/** Removes what buildCli made. */
export function removeCli(script: string): void {
  fs.rmSync(path.dirname(script), { recursive: true, force: true });
}

export function runCli(script: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: options.cwd ?? os.tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...options.env },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
