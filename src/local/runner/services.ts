/**
 * The job-API emulator and the S3 server that every runJob of a process shares, and the function's credentials: a
 * handler that creates its SDK client at module scope (as AWS recommends) keeps reaching the same endpoints and
 * credentials in every later run.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import type { LocalCredentials } from '../job-api/types';
import { JobApiEmulator } from '../job-api-emulator';
import { LocalS3Server } from '../s3/server';

/** The servers and the function's credentials every run of this process shares (see the file comment). */
export interface LocalServices {
  readonly emulator: JobApiEmulator;
  readonly s3: LocalS3Server;
  /** The function role's credentials: an SDK client made in an earlier run keeps them (the SDK caches them). */
  readonly functionCredentials: LocalCredentials;
}

let services: Promise<LocalServices> | undefined;

export function localServices(): Promise<LocalServices> {
  services ??= startServices().catch((err: unknown) => {
    services = undefined;
    throw err;
  });
  return services;
}

async function startServices(): Promise<LocalServices> {
  const functionCredentials = randomCredentials('AKIA');
  // unref: the servers never keep a process (a jest worker, a script) alive once its own work is done.
  const emulator = await JobApiEmulator.start({ credentials: [functionCredentials], unref: true });
  try {
    const s3 = await LocalS3Server.start({ credentials: [], unref: true });
    // Bodies live under os.tmpdir(); an exiting process removes them (close() does when called).
    process.once('exit', () => fs.rmSync(s3.directory, { recursive: true, force: true }));
    return { emulator, s3, functionCredentials };
  } catch (err) {
    await emulator.close();
    throw err;
  }
}

/**
 * Stops the job-API emulator and the S3 server that runJob shares across runs. Optional: they never keep the process
 * alive; the next runJob starts new ones (on new ports: SDK clients made before then point at the old ones).
 */
export async function stopLocalServices(): Promise<void> {
  const running = services;
  services = undefined;
  if (!running) return;
  const { emulator, s3 } = await running;
  await Promise.allSettled([emulator.close(), s3.close()]);
}


export function randomCredentials(prefix: string): { accessKeyId: string; secretAccessKey: string; sessionToken: string } {
  return {
    accessKeyId: `${prefix}${crypto.randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: crypto.randomBytes(30).toString('base64'),
    sessionToken: crypto.randomBytes(48).toString('base64'),
  };
}
