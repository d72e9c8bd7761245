/**
 * The CodePipeline job event and Lambda context the candidate children hand to a `jobHandler`: what Lambda would pass,
 * with artifacts in the local S3 bucket.
 */
import type { Context } from 'aws-lambda';

export interface BenchJob {
  readonly jobId: string;
  readonly bucket: string;
  readonly inputKey?: string;
  readonly outputKey?: string;
}

export const INPUT_ARTIFACT = 'Source';
export const OUTPUT_ARTIFACT = 'Out';

export function jobEvent(job: BenchJob): unknown {
  const location = (key: string) => ({ type: 'S3', s3Location: { bucketName: job.bucket, objectKey: key } });
  return {
    'CodePipeline.job': {
      id: job.jobId,
      accountId: '123456789012',
      data: {
        actionConfiguration: { configuration: { FunctionName: 'bench-function', UserParameters: '{}' } },
        inputArtifacts: job.inputKey
          ? [{ name: INPUT_ARTIFACT, revision: 'bench-revision', location: location(job.inputKey) }]
          : [],
        outputArtifacts: job.outputKey ? [{ name: OUTPUT_ARTIFACT, revision: null, location: location(job.outputKey) }] : [],
        artifactCredentials: {
          accessKeyId: 'AKIABENCHBENCHBENCH0',
          secretAccessKey: 'bench-secret-key-not-real',
          sessionToken: 'bench-session-token',
          expirationTime: Date.now() + 3_600_000,
        },
      },
    },
  };
}

/** A Lambda context with 15 minutes left, as for a function at its maximum timeout. */
export function lambdaContext(): Context {
  const deadline = Date.now() + 15 * 60_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'bench-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench-function',
    memoryLimitInMB: '1024',
    awsRequestId: `bench-${process.pid}`,
    logGroupName: '/aws/lambda/bench-function',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
