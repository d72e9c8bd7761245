import { CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';

interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: Array<string | { regex: string }>;
}

/**
 * Documents, in the template metadata that cdk-nag reads (`cdk_nag.rules_to_suppress`, merged with the user's own
 * suppressions), why the library's IAM findings are by design. Written as plain metadata, so the library needs no
 * cdk-nag dependency; cdk-nag users see no finding on our resources.
 */
export function suppressNagFindings(fn: lambda.Function): void {
  const role = fn.role as iam.Role | undefined;
  if (role === undefined) {
    return;
  }
  addSuppressions(role.node.defaultChild as CfnResource | undefined, [
    {
      id: 'AwsSolutions-IAM4',
      reason:
        'AWSLambdaBasicExecutionRole only lets the function write its logs (CreateLogStream/PutLogEvents); the function logs to its own log group with a retention.',
      applies_to: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
    },
  ]);
  const policy = role.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource | undefined;
  addSuppressions(policy, [
    {
      id: 'AwsSolutions-IAM5',
      reason:
        'codepipeline:PutJobSuccessResult and PutJobFailureResult support no resource-level permissions: the resource must be "*" (aws-cdk #42; IAM service authorization reference). The crash reporter destination is invoked by ARN, also with its versions and aliases (ARN:*).',
      applies_to: ['Resource::*', { regex: '/^Resource::<.*CrashReporter.*\\.Arn>:\\*$/g' }],
    },
  ]);
}

function addSuppressions(resource: CfnResource | undefined, suppressions: NagSuppression[]): void {
  if (resource === undefined) {
    return;
  }
  const existing = (resource.getMetadata('cdk_nag')?.rules_to_suppress ?? []) as NagSuppression[];
  const ids = new Set(existing.map((s) => s.id));
  resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...suppressions.filter((s) => !ids.has(s.id))] });
}
