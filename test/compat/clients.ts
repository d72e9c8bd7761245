/**
 * Running real third-party clients (boto3, the aws CLI) against the local servers. A missing tool fails the suite
 * with what to install: CI installs both (.ci/run), and a skipped compatibility check would prove nothing.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const CHECKS_SCRIPT = path.join(__dirname, 'boto3_checks.py');

/** Throws (failing the tests that need it) unless `python3 -c "import boto3"` and `aws --version` work. */
export function requireClients(): void {
  const boto3 = spawnSync('python3', ['-c', 'import boto3'], { encoding: 'utf8' });
  if (boto3.error || boto3.status !== 0) {
    throw new Error(`the compatibility suite needs python3 with boto3 (CI installs it with moto: python3 -m pip install 'moto[s3,server]'): ${boto3.error?.message ?? boto3.stderr}`);
  }
  const aws = spawnSync('aws', ['--version'], { encoding: 'utf8' });
  if (aws.error || aws.status !== 0) {
    throw new Error(`the compatibility suite needs the aws CLI (python3 -m pip install awscli): ${aws.error?.message ?? aws.stderr}`);
  }
}

export interface CheckResult {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
  readonly trace?: string;
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without blocking this process's event loop (the servers under test live in it). */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs the boto3 checks of one group; each result is asserted by its own test. */
export async function runBoto3Checks(group: 's3' | 'jobapi', env: Record<string, string>): Promise<Record<string, CheckResult>> {
  const result = await run('python3', [CHECKS_SCRIPT, group], { ...cleanEnv(), ...env });
  if (result.status !== 0) throw new Error(`boto3 checks (${group}) exited ${result.status}: ${result.stderr.slice(-3000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, CheckResult>;
}

/** The value of a check, or a failure that shows boto3's own error and trace. */
export function valueOf(results: Record<string, CheckResult>, name: string): unknown {
  const result = results[name];
  if (!result) throw new Error(`check ${name} did not run`);
  if (!result.ok) throw new Error(`check ${name} failed in boto3: ${result.error}\n${result.trace ?? ''}`);
  return result.value;
}

/** The process environment without any AWS settings of the machine (a real profile must never be used). */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return env;
}

/** An aws CLI runner with its own config file (path-style addressing, SigV4, 5 MB multipart threshold) and credentials. */
export function awsCli(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-cli-'));
  const config = path.join(dir, 'config');
  // signature_version: `aws s3 presign` of CLI v1 makes SigV2 URLs otherwise, which the embedded server does not serve.
  fs.writeFileSync(
    config,
    '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n  signature_version = s3v4\n',
  );
  const env = {
    ...cleanEnv(),
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
    AWS_MAX_ATTEMPTS: '1',
    AWS_PAGER: '',
  };
  return (args: readonly string[]): Promise<Run> => run('aws', ['--endpoint-url', endpoint, ...args], env, 120_000);
}
