/**
 * Fresh child Node processes for measurements where cold start matters (module loading, JIT, heap growth). A child
 * reports its figures on one stdout line `BENCH_RESULT <json>`; everything else it prints is kept for error messages.
 */
import { spawn } from 'child_process';
import { performance } from 'perf_hooks';

const RESULT_MARKER = 'BENCH_RESULT ';

export interface ChildOutcome<T> {
  /** What the child reported on its `BENCH_RESULT` line. */
  readonly result: T;
  /** Wall time of the whole child process, from spawn to exit, in milliseconds. */
  readonly wallMs: number;
}

export interface ChildOptions {
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Extra `node` flags, e.g. `--max-old-space-size`. */
  readonly nodeArgs?: readonly string[];
}

/** The environment every child gets: no SDK warnings on Node 20, no real AWS credentials or config from the host. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_NO_WARNINGS: '1',
    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: '20',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIABENCHBENCHBENCH0',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-key-not-real',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
  return env;
}

/** Runs `node <script>` in a fresh process and returns its `BENCH_RESULT` and its wall time. */
export function runNodeChild<T>(script: string, options: ChildOptions = {}): Promise<ChildOutcome<T>> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...(options.args ?? [])], {
      cwd: options.cwd,
      env: options.env ?? childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - started;
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
      if (code !== 0 || line === undefined) {
        reject(
          new Error(
            `child ${script} ${(options.args ?? []).join(' ')} exited with ${signal ?? code}` +
              `${line === undefined ? ' without a result' : ''}\n${tail(stderr || stdout)}`,
          ),
        );
        return;
      }
      resolve({ result: JSON.parse(line.slice(RESULT_MARKER.length)) as T, wallMs });
    });
  });
}

/** Called by a child script: prints its figures for the parent. */
export function reportToParent(result: unknown): void {
  process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
}

export interface CommandOutcome {
  readonly wallMs: number;
  readonly stdout: string;
}

/** Runs a non-Node command (unzip, zip) and returns its wall time; rejects on a non-zero exit. */
export function runCommand(command: string, args: readonly string[], cwd?: string): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${tail(stderr || stdout)}`));
        return;
      }
      resolve({ wallMs: performance.now() - started, stdout });
    });
  });
}

/** The end of a child's output for an error message (minified code can make one line enormous). */
function tail(text: string): string {
  const MAX_CHARS = 4000;
  const lines = text.split('\n').slice(-30).join('\n');
  return lines.length > MAX_CHARS ? `...${lines.slice(-MAX_CHARS)}` : lines;
}

export interface TimedCommandOutcome {
  readonly wallMs: number;
  /** User + system CPU time of the command (all its threads), from /usr/bin/time. */
  readonly cpuMs: number;
  /** Its peak RSS in KiB, from /usr/bin/time. */
  readonly maxRssKb: number;
}

/** Runs a command under GNU time (`/usr/bin/time`) for its CPU time and peak RSS. */
export async function runTimedCommand(command: string, args: readonly string[], cwd?: string): Promise<TimedCommandOutcome> {
  const started = performance.now();
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'BENCH_TIME maxrss=%M user=%U sys=%S', command, ...args], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${tail(err)}`))));
  });
  const match = /BENCH_TIME maxrss=(\d+) user=([\d.]+) sys=([\d.]+)/.exec(stderr);
  if (!match) {
    throw new Error(`no /usr/bin/time figures for ${command}: ${tail(stderr)}`);
  }
  return {
    wallMs: performance.now() - started,
    cpuMs: (Number(match[2]) + Number(match[3])) * 1000,
    maxRssKb: Number(match[1]),
  };
}

/** CPU time (user + system, every thread of this process) since `since`, in ms. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}
