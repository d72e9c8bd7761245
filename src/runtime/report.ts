/**
 * Reporting a job's result to CodePipeline, the one place where PutJobSuccessResult / PutJobFailureResult are called.
 */
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobFailureResultInput,
  PutJobSuccessResultCommand,
  PutJobSuccessResultInput,
} from '@aws-sdk/client-codepipeline';
import { Logger } from './logger';
import { truncateWithMarker } from './text';
import { FAILURE_MESSAGE_MAX_LENGTH, FailureType } from '../shared/limits';

/** What happened to a report. */
export type ReportOutcome = 'reported' | 'already-ended' | 'job-not-found';

let shared: { readonly key: string; readonly client: CodePipelineClient } | undefined;

/**
 * One CodePipeline client per Lambda execution environment, created on first use (no work at import time).
 * Region from AWS_REGION; the endpoint from AWS_ENDPOINT_URL_CODEPIPELINE when set, which the SDK honours itself.
 * Credentials are the function's own role: reporting needs codepipeline:PutJob*Result, not the artifact credentials.
 *
 * The SDK reads that configuration once per client, so the cache is keyed by it: on Lambda it never changes, while a
 * local run (`runJob`) may point the same process at a new emulator.
 */
export function defaultCodePipelineClient(): CodePipelineClient {
  const env = process.env;
  const key = [env.AWS_ENDPOINT_URL_CODEPIPELINE, env.AWS_ENDPOINT_URL, env.AWS_REGION, env.AWS_ACCESS_KEY_ID, env.AWS_PROFILE].join('|');
  if (shared?.key !== key) {
    shared?.client.destroy();
    shared = { key, client: new CodePipelineClient({}) };
  }
  return shared.client;
}

export interface FailureReport {
  readonly type: FailureType;
  readonly message: string;
  readonly externalExecutionId?: string;
}

/** A failure message the API accepts: 1 to 5000 characters (API model `Message`), with a marker where it was cut. */
export function failureMessage(message: string): string {
  const text = message.trim() === '' ? 'The job failed without a message' : message;
  return truncateWithMarker(text, FAILURE_MESSAGE_MAX_LENGTH);
}

export async function putJobFailure(
  client: CodePipelineClient,
  jobId: string,
  failure: FailureReport,
  logger: Logger,
): Promise<ReportOutcome> {
  const input: PutJobFailureResultInput = {
    jobId,
    failureDetails: {
      type: failure.type,
      message: failureMessage(failure.message),
      ...(failure.externalExecutionId !== undefined ? { externalExecutionId: failure.externalExecutionId } : {}),
    },
  };
  return send(() => client.send(new PutJobFailureResultCommand(input)), 'PutJobFailureResult', logger);
}

export async function putJobSuccess(
  client: CodePipelineClient,
  input: PutJobSuccessResultInput,
  logger: Logger,
): Promise<ReportOutcome> {
  return send(() => client.send(new PutJobSuccessResultCommand(input)), 'PutJobSuccessResult', logger);
}

/**
 * Sends one report. Two API errors are expected in normal operation and are logged, not thrown:
 * - InvalidJobStateException: the job already ended. Lambda delivers async events at least once and retries failed
 *   invocations, so a second report for the same job happens; the first one won.
 * - JobNotFoundException: the job is gone (expired or from another account/region); retrying cannot help.
 * Anything else (throttling, network, permissions) is thrown so that Lambda's async retry tries again.
 */
async function send(call: () => Promise<unknown>, operation: string, logger: Logger): Promise<ReportOutcome> {
  try {
    await call();
    return 'reported';
  } catch (error) {
    const name = (error as { name?: unknown } | null)?.name;
    if (name === 'InvalidJobStateException') {
      logger.warn(`${operation}: the job has already ended (a duplicate delivery?); nothing to report`, { error });
      return 'already-ended';
    }
    if (name === 'JobNotFoundException') {
      logger.error(`${operation}: CodePipeline does not know this job; nothing to report`, { error });
      return 'job-not-found';
    }
    throw error;
  }
}
