/**
 * The servers a wire suite runs jobs against, started once per suite (beforeAll) and stopped after it (afterAll),
 * with the environment a Lambda function would have pointing at them:
 *
 *   const servers = useWireServers({ bucket: 'artifacts' });   // at the top level of a test file
 *   ... servers.jobApi.registerJob(id); servers.proxy.injectFaults([...]); servers.direct.send(...)
 *
 * Always the job-API emulator; with `bucket`, also the embedded S3 server with that bucket, a FaultProxy in front of
 * it (where the function's S3 traffic goes) and a client that talks to the server directly (fault-free, for setup).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3Backend, s3Client, startEmbeddedS3, startJobApi } from './servers';
import { lambdaEnvironment } from './wire-helpers';
import { FaultProxy } from '../../src/local/fault-proxy';
import type { JobApiEmulator } from '../../src/local/job-api-emulator';

export interface WireServersOptions {
  /** Start S3 too, with this bucket. @default - no S3 */
  readonly bucket?: string;
  /** Let the SDK retry as it does on Lambda (standard mode, 3 attempts). @default false: one attempt, every retry seen is the runtime's */
  readonly sdkRetries?: boolean;
}

export interface WireServers {
  readonly jobApi: JobApiEmulator;
  /** Only with `bucket`. */
  readonly s3: S3Backend;
  /** Only with `bucket`: the S3 endpoint the function uses. */
  readonly proxy: FaultProxy;
  /** Only with `bucket`: a client straight to S3, past the proxy. */
  readonly direct: S3Client;
}

export function useWireServers(options: WireServersOptions = {}): WireServers {
  let started: { -readonly [K in keyof WireServers]?: WireServers[K] } = {};
  let restoreEnvironment: (() => void) | undefined;
  const servers = {} as WireServers;
  for (const key of ['jobApi', 's3', 'proxy', 'direct'] as const) {
    Object.defineProperty(servers, key, {
      get: () => {
        const value = started[key];
        if (value === undefined) throw new Error(`useWireServers: ${key} is not started${key === 'jobApi' ? '' : ' (give a bucket)'}; use it inside tests or hooks`);
        return value;
      },
    });
  }

  beforeAll(async () => {
    const jobApi = await startJobApi();
    started = { jobApi };
    if (options.bucket !== undefined) {
      const s3 = await startEmbeddedS3();
      await s3.createBucket(options.bucket);
      const proxy = await FaultProxy.start({ target: s3.endpoint });
      started = { jobApi, s3, proxy, direct: s3Client(s3.endpoint) };
    }
    restoreEnvironment = lambdaEnvironment({ codePipeline: jobApi.endpoint, s3: started.proxy?.endpoint });
    if (options.sdkRetries === true) delete process.env.AWS_MAX_ATTEMPTS;
  });

  afterAll(async () => {
    restoreEnvironment?.();
    started.direct?.destroy();
    await started.proxy?.close();
    await started.s3?.close();
    await started.jobApi?.close();
    started = {};
  });

  return servers;
}
