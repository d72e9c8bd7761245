import { CfnElement, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';

const BASIC_EXECUTION_ROLE = 'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

const REASONS = {
  basicExecutionRole:
    'AWSLambdaBasicExecutionRole (logs:CreateLogGroup, CreateLogStream, PutLogEvents) is what Lambda gives a function whose log group the construct cannot name: the deprecated logRetention, a log group given without grant methods, or a role of your own.',
  jobResults:
    'codepipeline:PutJobSuccessResult and PutJobFailureResult support no resource-level permissions, so the resource must be "*" (aws-cdk #42; IAM service authorization reference for AWS CodePipeline).',
  crashReporterInvoke:
    'Lambda destinations grant invoke on the crash reporter ARN and its versions/aliases (ARN:*): one function, no other.',
};

/**
 * Records why the IAM findings cdk-nag (AwsSolutions) reports on a job function or the crash reporter are by design,
 * on the function's role only:
 * - as CDK acknowledgments (the metadata of `Validations.of(role).acknowledge`), which cdk-nag 3 reads;
 * - as `cdk_nag.rules_to_suppress` template metadata, which cdk-nag 2 reads.
 * Neither needs a cdk-nag dependency.
 */
export function suppressNagFindings(fn: lambda.Function, crashReporter?: lambda.IFunction, logGrant?: 'log-group' | 'basic-execution-role'): void {
  const role = fn.role;
  if (!(role instanceof iam.Role)) {
    return;
  }
  const reporterArnPattern = crashReporter ? reporterArnPatternOf(crashReporter) : undefined;
  // A role the construct made with a grant on the function's own log group has no managed policy to explain.
  const basicExecutionRole = logGrant !== 'log-group';
  acknowledge(role, {
    ...(basicExecutionRole ? { [`AwsSolutions-IAM4[${BASIC_EXECUTION_ROLE}]`]: REASONS.basicExecutionRole } : {}),
    'AwsSolutions-IAM5[Resource::*]': REASONS.jobResults,
    ...(reporterArnPattern ? { [`AwsSolutions-IAM5[${reporterArnPattern}]`]: REASONS.crashReporterInvoke } : {}),
  });
  if (basicExecutionRole) {
    addTemplateSuppressions(role.node.defaultChild as CfnResource, [
      { id: 'AwsSolutions-IAM4', reason: REASONS.basicExecutionRole, applies_to: [BASIC_EXECUTION_ROLE] },
    ]);
  }
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource | undefined;
  addTemplateSuppressions(policy, [
    {
      id: 'AwsSolutions-IAM5',
      reason: `${REASONS.jobResults} ${crashReporter ? REASONS.crashReporterInvoke : ''}`.trim(),
      applies_to: ['Resource::*', ...(reporterArnPattern ? [reporterArnPattern] : [])],
    },
  ]);
}

/**
 * The job-result role of a cross-account function: its only wildcard is the resource of PutJobSuccessResult /
 * PutJobFailureResult, which support no resource-level permissions.
 */
export function suppressJobResultRoleFindings(role: iam.Role): void {
  acknowledge(role, { 'AwsSolutions-IAM5[Resource::*]': REASONS.jobResults });
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource | undefined;
  addTemplateSuppressions(policy, [{ id: 'AwsSolutions-IAM5', reason: REASONS.jobResults, applies_to: ['Resource::*'] }]);
}

/**
 * What `Validations.of(scope).acknowledge()` records, written directly: aws-cdk-lib 2.257 rejects finding ids with more
 * than one '::' (e.g. 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:...]'), which cdk-nag 3 matches exactly.
 */
function acknowledge(scope: IConstruct, rules: Record<string, string>): void {
  const entries = scope.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY);
  const previous = (entries[entries.length - 1]?.data ?? {}) as Record<string, string>;
  scope.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, { ...previous, ...rules });
}

/** The crash reporter's finding pattern, computed once per reporter: every job function of its stack needs it. */
const reporterArnPatterns = new WeakMap<lambda.IFunction, string>();

function reporterArnPatternOf(crashReporter: lambda.IFunction): string {
  let pattern = reporterArnPatterns.get(crashReporter);
  if (pattern === undefined) {
    const logicalId = Stack.of(crashReporter).getLogicalId(crashReporter.node.defaultChild as CfnElement);
    pattern = `Resource::<${logicalId}.Arn>:*`;
    reporterArnPatterns.set(crashReporter, pattern);
  }
  return pattern;
}

interface TemplateSuppression {
  readonly id: string;
  readonly reason: string;
  readonly applies_to: string[];
}

function addTemplateSuppressions(resource: CfnResource | undefined, suppressions: TemplateSuppression[]): void {
  if (resource === undefined) {
    return;
  }
  const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as TemplateSuppression[];
  const ids = new Set(existing.map((s) => s.id));
  resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...suppressions.filter((s) => !ids.has(s.id))] });
}
