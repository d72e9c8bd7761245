/**
 * A local run of a function in another account or region than its pipeline (`runJob({ functionAccountId,
 * functionRegion })`), set up as the constructs set it up on AWS:
 *
 * - another account: the job belongs to the pipeline's account, and the job-API emulator accepts its results only with
 *   credentials of that account. A local STS issues them for the job-result role, which only the function's role may
 *   assume; the function's environment names the role (and the crash reporter's map does), as the constructs write it.
 *   A handler that reports with the function's own credentials is refused with AccessDeniedException, as on AWS.
 * - another region: the function runs in its region (AWS_REGION), the job is in the pipeline's; reports signed for
 *   another region do not find the job.
 */
import { CRASH_REPORTER_TARGETS_ENV, JOB_REGION_ENV, JOB_RESULT_ROLE_ARN_ENV, JobResultTarget } from '../shared/job-result-target';
import type { LocalCredentials } from './internal/sigv4';
import type { JobApiEmulator } from './job-api-emulator';
import { LocalStsServer } from './sts-server';

export interface CrossEnvironmentOptions {
  readonly emulator: JobApiEmulator;
  readonly jobId: string;
  /** The pipeline's account and region: where the job lives. */
  readonly accountId: string;
  readonly region: string;
  /** The function's account and region (undefined: the pipeline's). */
  readonly functionAccountId?: string;
  readonly functionRegion?: string;
  readonly functionName: string;
  /** The function's own credentials (its execution role's). */
  readonly functionCredentials: LocalCredentials;
}

export interface CrossEnvironment {
  /** The function's account and region, as the run uses them. */
  readonly functionAccountId: string;
  readonly functionRegion: string;
  /** Environment variables for the function (and the crash reporter, which runs in its stack). */
  readonly environment: Readonly<Record<string, string>>;
  /** The job-result role, when the function is in another account. */
  readonly resultRoleArn?: string;
  /** The local STS, when the function is in another account. */
  readonly sts?: LocalStsServer;
  close(): Promise<void>;
}

/** The environment variables a cross-environment run sets (runJob restores them afterwards). */
export const CROSS_ENVIRONMENT_VARIABLES = ['AWS_ENDPOINT_URL_STS', JOB_RESULT_ROLE_ARN_ENV, JOB_REGION_ENV, CRASH_REPORTER_TARGETS_ENV] as const;

export interface LocalRoleArns {
  readonly functionRoleArn: string;
  readonly resultRoleArn: string;
}

/** The role names a local run uses; the constructs generate theirs (see src/private/cross-environment.ts). */
export function localRoleArns(accountId: string, functionAccountId: string, functionName: string): LocalRoleArns {
  return {
    functionRoleArn: `arn:aws:iam::${functionAccountId}:role/${functionName}-role`,
    resultRoleArn: `arn:aws:iam::${accountId}:role/${functionName}-job-result`,
  };
}

/** Registers the job and, for a function in another account, starts the local STS. */
export async function setUpCrossEnvironment(options: CrossEnvironmentOptions): Promise<CrossEnvironment> {
  const functionAccountId = options.functionAccountId ?? options.accountId;
  const functionRegion = options.functionRegion ?? options.region;
  const crossAccount = functionAccountId !== options.accountId;
  const crossRegion = functionRegion !== options.region;
  if (!crossAccount && !crossRegion) {
    options.emulator.registerJob(options.jobId);
    return { functionAccountId, functionRegion, environment: {}, close: async () => undefined };
  }
  options.emulator.registerJob(options.jobId, { region: options.region, ...(crossAccount ? { accountId: options.accountId } : {}) });
  const target: { roleArn?: string; region?: string } = crossRegion ? { region: options.region } : {};
  let sts: LocalStsServer | undefined;
  if (crossAccount) {
    const { functionRoleArn, resultRoleArn } = localRoleArns(options.accountId, functionAccountId, options.functionName);
    options.emulator.addCredentials(options.functionCredentials, { accountId: functionAccountId, arn: functionRoleArn });
    sts = await LocalStsServer.start({
      callers: [{ credentials: options.functionCredentials, principalArn: functionRoleArn }],
      roles: [{ roleArn: resultRoleArn, trustedPrincipalArns: [functionRoleArn] }],
      onIssue: (issued) => options.emulator.addCredentials(issued.credentials, { accountId: options.accountId, arn: issued.assumedRoleArn }),
    });
    target.roleArn = resultRoleArn;
  }
  const environment: Record<string, string> = {
    AWS_REGION: functionRegion,
    AWS_DEFAULT_REGION: functionRegion,
    ...(sts !== undefined ? { AWS_ENDPOINT_URL_STS: sts.endpoint } : {}),
    ...(target.roleArn !== undefined ? { [JOB_RESULT_ROLE_ARN_ENV]: target.roleArn } : {}),
    ...(target.region !== undefined ? { [JOB_REGION_ENV]: target.region } : {}),
    [CRASH_REPORTER_TARGETS_ENV]: JSON.stringify({ [options.functionName]: target satisfies JobResultTarget }),
  };
  return {
    functionAccountId,
    functionRegion,
    environment,
    resultRoleArn: target.roleArn,
    sts,
    close: async () => sts?.close(),
  };
}
