import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { crashReporterFor } from './crash-reporter';
import {
  DEFAULT_ARCHITECTURE,
  DEFAULT_LOG_RETENTION,
  DEFAULT_MEMORY_SIZE,
  DEFAULT_RETRY_ATTEMPTS,
  DEFAULT_TIMEOUT,
} from './defaults';
import { childFieldError } from './validate-user-parameters';

/** The props both job function constructs understand on top of Lambda's own. */
export interface JobFunctionOptionsInput {
  readonly architecture?: lambda.Architecture;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  readonly retryAttempts?: number;
  readonly onFailure?: lambda.IDestination;
  readonly logGroup?: logs.ILogGroupRef;
  readonly logRetention?: logs.RetentionDays;
  readonly logGroupRetention?: logs.RetentionDays;
  readonly reportCrashes?: boolean;
}

export interface JobFunctionDefaults {
  readonly architecture: lambda.Architecture;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly retryAttempts: number;
  readonly onFailure?: lambda.IDestination;
  readonly logGroup?: logs.ILogGroupRef;
  readonly crashReporter?: lambda.IFunction;
}

/**
 * The defaults of a job function, computed before `super()` (hence scope + id: the log group is created next to the
 * function, as `<id>LogGroup`, because the function's `logGroup` prop must exist when the function does).
 */
export function jobFunctionDefaults(scope: Construct, id: string, props: JobFunctionOptionsInput): JobFunctionDefaults {
  const reportCrashes = props.reportCrashes ?? true;
  if (reportCrashes && props.onFailure !== undefined) {
    throw childFieldError(
      scope,
      id,
      'onFailure',
      'is taken by crash reporting (reportCrashes, default true): set reportCrashes: false to use your own destination',
    );
  }
  if (props.logGroupRetention !== undefined && (props.logGroup !== undefined || props.logRetention !== undefined)) {
    throw childFieldError(scope, id, 'logGroupRetention', 'applies to the log group the construct creates: drop it when you pass logGroup or logRetention');
  }
  const crashReporter = reportCrashes ? crashReporterFor(scope) : undefined;
  return {
    architecture: props.architecture ?? DEFAULT_ARCHITECTURE,
    timeout: props.timeout ?? DEFAULT_TIMEOUT,
    memorySize: props.memorySize ?? DEFAULT_MEMORY_SIZE,
    retryAttempts: props.retryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
    onFailure: crashReporter ? new destinations.LambdaDestination(crashReporter) : props.onFailure,
    logGroup: logGroupFor(scope, id, props),
    crashReporter,
  };
}

function logGroupFor(scope: Construct, id: string, props: JobFunctionOptionsInput): logs.ILogGroupRef | undefined {
  if (props.logGroup !== undefined || props.logRetention !== undefined) {
    return props.logGroup; // the user's choice (the deprecated logRetention keeps working as Lambda implements it)
  }
  return new logs.LogGroup(scope, `${id}LogGroup`, { retention: props.logGroupRetention ?? DEFAULT_LOG_RETENTION });
}
