import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';

/** The newest Node.js runtime Lambda offers (Node.js 20 is deprecated since 2026-04-30). */
export const DEFAULT_RUNTIME = lambda.Runtime.NODEJS_24_X;
/** Graviton: cheaper per GB-second than x86_64 and as fast for I/O-bound jobs. */
export const DEFAULT_ARCHITECTURE = lambda.Architecture.ARM_64;
/**
 * Long enough for an artifact download, a zip and an upload; a job that takes longer reports progress with
 * `job.continueLater` (CodePipeline re-invokes it; each invocation must report within 20 minutes, Lambda's own
 * maximum is 15).
 */
export const DEFAULT_TIMEOUT = Duration.minutes(5);
/** Memory also buys CPU: 512 MB unzips and zips artifacts without becoming the bottleneck. */
export const DEFAULT_MEMORY_SIZE = 512;
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;
/**
 * CodePipeline invokes the function asynchronously. The runtime's `jobHandler` catches every error and reports it
 * itself, so an invocation only fails when the process crashes, times out or runs out of memory. Lambda's default of
 * two retries (1 and 2 minutes later) would then re-run a job that is likely to crash the same way, delay the failure
 * by 3 minutes or more, and may run side effects twice. With 0 retries, the failure goes straight to the `onFailure`
 * destination (the crash reporter), which fails the job within seconds. Throttles and Lambda service errors are still
 * retried by Lambda regardless of this setting (up to the maximum event age).
 */
export const DEFAULT_RETRY_ATTEMPTS = 0;
