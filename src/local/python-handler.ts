/**
 * Python handlers for runJob and `invoke`: `'path/app.py#lambda_handler'`.
 *
 * Each invocation starts `python3` with a small bootstrap (below, shipped inside this package's JavaScript so it is
 * always in the npm tarball) that imports the handler's module the way Lambda's Python runtime does (module name from
 * the file, its folder first on sys.path), builds a Lambda-like context, reads the event from stdin and writes how the
 * invocation ended to file descriptor 3 — the handler's own prints keep stdout and stderr. The child inherits the
 * environment runJob set (AWS_ENDPOINT_URL_CODEPIPELINE / AWS_ENDPOINT_URL_S3, region, credentials), which boto3
 * honours as the AWS SDK v3 does. boto3 is required because the Lambda Python runtimes include it.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { HandlerLoadError, parseHandlerReference } from './load-handler';

/** The bootstrap: `python3 -c BOOTSTRAP check|invoke FILE FUNCTION`. Python 3.8+ (the oldest Lambda Python runtime). */
export const PYTHON_BOOTSTRAP = String.raw`
import importlib, json, os, sys, time, traceback

def _report(value):
    with os.fdopen(3, "w", encoding="utf-8") as out:
        out.write(json.dumps(value))

def _error(kind, exc):
    frames = traceback.extract_tb(exc.__traceback__)
    return {"kind": kind, "errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": ['  File "%s", line %s, in %s' % (f.filename, f.lineno, f.name) for f in frames],
            "file": getattr(exc, "filename", None), "line": getattr(exc, "lineno", None)}

class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""
    def __init__(self, info):
        self.function_name = info["functionName"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = info["invokedFunctionArn"]
        self.memory_limit_in_mb = info["memoryLimitInMB"]
        self.aws_request_id = info["awsRequestId"]
        self.log_group_name = info["logGroupName"]
        self.log_stream_name = info["logStreamName"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = info["deadlineMs"]
    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))

def main():
    mode, file, name = sys.argv[1], sys.argv[2], sys.argv[3]
    try:
        import boto3  # noqa: F401  (the Lambda Python runtimes include boto3)
    except ImportError as exc:
        _report({"kind": "noBoto3", "errorMessage": str(exc), "python": sys.executable, "version": sys.version.split()[0]})
        return
    folder, module_file = os.path.split(os.path.abspath(file))
    sys.path.insert(0, folder)
    try:
        module = importlib.import_module(os.path.splitext(module_file)[0])
    except Exception as exc:  # SyntaxError, ImportError, or anything the module raises at import
        _report(_error("importError", exc))
        return
    handler = getattr(module, name, None)
    if not callable(handler):
        functions = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_") and getattr(v, "__module__", None) == module.__name__)
        _report({"kind": "noHandler", "functions": functions})
        return
    if mode == "check":
        _report({"kind": "ok"})
        return
    info = json.loads(sys.stdin.read())
    try:
        handler(info["event"], LambdaContext(info["context"]))
    except Exception as exc:
        _report(_error("threw", exc))
        return
    _report({"kind": "returned"})

main()
`;

export function isPythonHandler(reference: string): boolean {
  return path.extname(parseHandlerReference(reference).file) === '.py';
}

/** What the Lambda Python runtime puts in the context; `deadlineMs` is the epoch millisecond the invocation ends. */
export interface PythonContextInfo {
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
  readonly awsRequestId: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly deadlineMs: number;
}

export type PythonInvocationResult =
  | { readonly kind: 'returned' }
  | { readonly kind: 'threw'; readonly errorType: string; readonly errorMessage: string; readonly stackTrace: readonly string[] }
  | { readonly kind: 'timedOut' };

interface BootstrapReport {
  readonly kind: 'ok' | 'returned' | 'threw' | 'importError' | 'noHandler' | 'noBoto3';
  readonly errorType?: string;
  readonly errorMessage?: string;
  readonly stackTrace?: string[];
  readonly functions?: string[];
  readonly file?: string | null;
  readonly line?: number | null;
  readonly python?: string;
  readonly version?: string;
}

const checked = new Set<string>();

/** A Python handler, checked once (python3, boto3, the module and its function) and then invoked as often as needed. */
export class PythonHandler {
  /** Checks that python3 runs, boto3 imports and the module has the function; the message says what to fix. */
  static async load(reference: string, options: { cwd?: string; python?: string } = {}): Promise<PythonHandler> {
    const { file, exportName } = parseHandlerReference(reference);
    const resolved = path.resolve(options.cwd ?? process.cwd(), file);
    if (!fs.existsSync(resolved)) {
      throw new HandlerLoadError(`handler file not found: ${resolved} (from ${JSON.stringify(reference)}). Check the path.`);
    }
    const handler = new PythonHandler(resolved, exportName, options.python ?? 'python3');
    // One check per interpreter, file version and function in a process: later runs skip its python3 start.
    const key = [handler.python, resolved, exportName, fs.statSync(resolved).mtimeMs].join('\0');
    if (checked.has(key)) return handler;
    const { report, stderr } = await handler.run('check', undefined, 60_000);
    if (report?.kind !== 'ok') throw new HandlerLoadError(handler.loadFailure(report, stderr));
    checked.add(key);
    return handler;
  }

  private constructor(
    readonly file: string,
    readonly functionName: string,
    readonly python: string,
  ) {}

  /** One invocation in a new python3 process; killed (a timeout, as on Lambda) when `timeoutMs` passes. */
  async invoke(event: unknown, context: PythonContextInfo, timeoutMs: number): Promise<PythonInvocationResult> {
    const { report, stderr, timedOut } = await this.run('invoke', JSON.stringify({ event, context }), timeoutMs);
    if (timedOut) return { kind: 'timedOut' };
    if (report?.kind === 'returned') return { kind: 'returned' };
    if (report?.kind === 'threw') {
      return { kind: 'threw', errorType: report.errorType ?? 'Exception', errorMessage: report.errorMessage ?? '', stackTrace: report.stackTrace ?? [] };
    }
    // The process died without a report (os._exit, a signal, a crash of the interpreter): Lambda's Runtime.ExitError.
    const lastLine = stderr.trim().split('\n').pop() ?? '';
    return { kind: 'threw', errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${context.awsRequestId} Error: Runtime exited without providing a reason${lastLine ? ` (${lastLine})` : ''}`, stackTrace: [] };
  }

  private loadFailure(report: BootstrapReport | undefined, stderr: string): string {
    const where = `${this.file}#${this.functionName}`;
    switch (report?.kind) {
      case 'noBoto3':
        return `running a Python handler needs boto3 (the Lambda Python runtimes include it), which ${report.python} (Python ${report.version}) cannot import: install it with \`${this.python} -m pip install boto3\``;
      case 'importError': {
        const at = report.file ? ` (${report.file}${report.line ? `, line ${report.line}` : ''})` : '';
        return `${where}: the module could not be imported: ${report.errorType}: ${report.errorMessage}${at}`;
      }
      case 'noHandler':
        return (
          `${this.file} has no function ${JSON.stringify(this.functionName)}` +
          (report.functions && report.functions.length > 0 ? `; its functions are: ${report.functions.join(', ')}. Use ${path.basename(this.file)}#<one of them>.` : '.')
        );
      default:
        return `${where}: ${this.python} did not run the bootstrap${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`;
    }
  }

  private run(mode: 'check' | 'invoke', input: string | undefined, timeoutMs: number): Promise<{ report?: BootstrapReport; stderr: string; timedOut: boolean }> {
    return new Promise((resolve, reject) => {
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.python, ['-c', PYTHON_BOOTSTRAP, mode, this.file, this.functionName], {
          env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
          stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
        });
      } catch (err) {
        reject(this.spawnError(err));
        return;
      }
      const reportChunks: Buffer[] = [];
      let stderr = '';
      let timedOut = false;
      // The handler's prints go where a Node handler's console output goes; stderr is also kept for messages.
      child.stdout!.on('data', (chunk: Buffer) => process.stdout.write(chunk));
      child.stderr!.on('data', (chunk: Buffer) => {
        process.stderr.write(chunk);
        stderr = (stderr + chunk.toString('utf8')).slice(-8192);
      });
      (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => reportChunks.push(chunk));
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(this.spawnError(err));
      });
      child.on('close', () => {
        clearTimeout(timer);
        const text = Buffer.concat(reportChunks).toString('utf8');
        let report: BootstrapReport | undefined;
        try {
          report = text ? (JSON.parse(text) as BootstrapReport) : undefined;
        } catch {
          report = undefined;
        }
        resolve({ report, stderr, timedOut });
      });
      child.stdin!.on('error', () => undefined); // the handler may exit before reading the event
      child.stdin!.end(input ?? '');
    });
  }

  private spawnError(err: unknown): HandlerLoadError {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') {
      return new HandlerLoadError(
        `running a Python handler needs ${this.python}, which is not on PATH: install Python 3 (e.g. apt-get install python3, or python.org) and boto3 (python3 -m pip install boto3)`,
      );
    }
    return new HandlerLoadError(`could not start ${this.python} for ${this.file}: ${(err as Error).message}`);
  }
}
