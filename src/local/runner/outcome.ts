/** How a run ended, from the job's reports in the emulator (and its outputs in the local S3). */
import { extractOutputs } from './artifacts';
import type { RunJobOptions, RunJobOutcome } from './types';
import type { FailureType } from '../../shared/limits';
import type { JobApiEmulator } from '../job-api-emulator';
import type { LocalS3Server } from '../s3/server';

export async function outcome(args: {
  emulator: JobApiEmulator;
  s3: LocalS3Server;
  jobId: string;
  invocations: number;
  crash: RunJobOutcome['crash'];
  crashReporterError: string | undefined;
  endedWithoutReport: boolean;
  returnedWithoutPromise: boolean;
  maxInvocations: number;
  outputArtifacts: Array<{ name: string; bucketName: string; objectKey: string }>;
  options: RunJobOptions;
}): Promise<RunJobOutcome> {
  const job = args.emulator.job(args.jobId)!;
  const last = job.results[job.results.length - 1];
  const base = { invocations: args.invocations, jobId: args.jobId, reports: job.results, crash: args.crash };
  if (job.status === 'Failed') {
    const failure = last.failureDetails!;
    return { ...base, status: 'Failed', failure: { type: failure.type as FailureType, message: failure.message }, outputs: {}, warnings: [] };
  }
  if (job.status === 'InProgress') {
    const message =
      args.crashReporterError !== undefined
        ? `The handler crashed (${args.crash?.errorType}: ${args.crash?.errorMessage}) and the crash reporter could not report the job: ${args.crashReporterError}`
        : args.endedWithoutReport && args.returnedWithoutPromise
          ? 'The handler returned without a Promise and without reporting the job: Node.js 24 Lambda runtimes end the invocation when a ' +
            "non-async handler returns, and don't support callback-style handlers (event, context, callback) nor context.succeed/fail/done. " +
            'Make the handler async and await the PutJobSuccessResult/PutJobFailureResult call (or wrap it with jobHandler()).'
          : args.endedWithoutReport
            ? 'The handler returned without reporting the job (no PutJobSuccessResult or PutJobFailureResult): on AWS the action would wait until it times out. ' +
            'Wrap the handler with jobHandler() or report the result.'
            : `The job was still in progress after ${args.invocations} invocations (maxInvocations ${args.maxInvocations}): ` +
            'the handler keeps returning continuation tokens.';
    return { ...base, status: 'Failed', failure: { type: 'JobFailed', message }, outputs: {}, warnings: [] };
  }
  const { outputs, warnings } = await extractOutputs(args.s3, args.outputArtifacts, args.options.outputDirectory, args.options.encryptionKey);
  return {
    ...base,
    status: 'Succeeded',
    outputVariables: last.outputVariables,
    summary: last.executionDetails?.summary,
    outputs,
    warnings,
  };
}
