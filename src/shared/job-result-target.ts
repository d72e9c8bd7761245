/**
 * Where a job function reports its job's result when it runs in another account or region than the pipeline: the
 * contract between the constructs (which write these environment variables) and the runtime and the crash reporter
 * (which read them). Pure: no I/O.
 *
 * A CodePipeline job belongs to the pipeline's account and region. CodePipeline has no resource-based policies, so a
 * principal of another account cannot report a job of the pipeline's account: the function assumes a job-result role
 * of the pipeline's account, and calls CodePipeline in the pipeline's region (aws-cdk #15235, #18228).
 */
import { isJsonObject } from './json-value';

/** The ARN of the job-result role in the pipeline's account, when the function is in another account. */
export const JOB_RESULT_ROLE_ARN_ENV = 'CODEPIPELINE_JOB_RESULT_ROLE_ARN';

/** The pipeline's region, when the function is in another region. */
export const JOB_REGION_ENV = 'CODEPIPELINE_JOB_REGION';

/**
 * The crash reporter's map of the job functions it serves in other accounts or regions: JSON
 * `{ "<function name>": { "roleArn"?: "...", "region"?: "..." } }`. One reporter serves every job function of its stack.
 */
export const CRASH_REPORTER_TARGETS_ENV = 'CODEPIPELINE_JOB_RESULT_TARGETS';

/** Where to report: both absent means the function's own account and region. */
export interface JobResultTarget {
  /** The role to assume before reporting. */
  readonly roleArn?: string;
  /** The region of CodePipeline's API to call. */
  readonly region?: string;
}

/** The target a job function's environment names. */
export function jobResultTargetFromEnvironment(env: Readonly<Record<string, string | undefined>>): JobResultTarget {
  return cleanTarget({ roleArn: env[JOB_RESULT_ROLE_ARN_ENV], region: env[JOB_REGION_ENV] });
}

/**
 * The target of one failed function, from the crash reporter's map, by the function's ARN or name (a Lambda failure
 * record names the function by its ARN, often with a version qualifier). Throws when the map is not the JSON the
 * constructs write.
 */
export function jobResultTargetFor(targetsJson: string | undefined, functionArnOrName: string | undefined): JobResultTarget {
  if (targetsJson === undefined || targetsJson.trim() === '' || functionArnOrName === undefined) {
    return {};
  }
  let targets: unknown;
  try {
    targets = JSON.parse(targetsJson);
  } catch (error) {
    throw new Error(`${CRASH_REPORTER_TARGETS_ENV} is not JSON: ${(error as Error).message}`);
  }
  if (!isJsonObject(targets)) {
    throw new Error(`${CRASH_REPORTER_TARGETS_ENV} must be a JSON object keyed by function name`);
  }
  const entry = targets[functionNameOf(functionArnOrName)];
  if (typeof entry !== 'object' || entry === null) {
    return {};
  }
  const { roleArn, region } = entry as Record<string, unknown>;
  return cleanTarget({ roleArn: typeof roleArn === 'string' ? roleArn : undefined, region: typeof region === 'string' ? region : undefined });
}

/** `arn:aws:lambda:eu-west-1:111111111111:function:name[:qualifier]` → `name`; a bare name stays as it is. */
export function functionNameOf(functionArnOrName: string): string {
  const parts = functionArnOrName.split(':');
  return parts.length >= 7 && parts[0] === 'arn' && parts[5] === 'function' ? parts[6] : functionArnOrName;
}

function cleanTarget(target: { roleArn?: string; region?: string }): JobResultTarget {
  return {
    ...(target.roleArn !== undefined && target.roleArn.trim() !== '' ? { roleArn: target.roleArn.trim() } : {}),
    ...(target.region !== undefined && target.region.trim() !== '' ? { region: target.region.trim() } : {}),
  };
}
