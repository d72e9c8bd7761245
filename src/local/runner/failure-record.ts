/** What Lambda hands the onFailure destination (the crash reporter) when an invocation crashes or times out. */
import type { InvocationResult } from './invoke';
import { DEFAULT_REGION, type JobEventJson } from '../job-event';

/** What Lambda puts in `responsePayload` for an unhandled error or a timeout. */
export function lambdaError(result: Exclude<InvocationResult, { kind: 'returned' }>, timeoutMs: number): { errorType: string; errorMessage: string } {
  if (result.kind === 'timedOut') {
    return {
      errorType: 'Sandbox.Timedout',
      errorMessage: `${new Date().toISOString()} ${result.requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
    };
  }
  const error = result.error;
  if (error instanceof Error) return { errorType: error.name || 'Error', errorMessage: error.message };
  return { errorType: 'Error', errorMessage: typeof error === 'string' ? error : JSON.stringify(error) ?? String(error) };
}

/** Lambda's async-invocation failure record, as the onFailure destination (the crash reporter) receives it. */
export function failureRecord(
  event: JobEventJson,
  functionName: string,
  accountId: string,
  result: Exclude<InvocationResult, { kind: 'returned' }>,
  error: { errorType: string; errorMessage: string },
): unknown {
  const requestId = result.requestId;
  const stack =
    result.kind !== 'threw' ? [] : result.trace ? [...result.trace] : result.error instanceof Error ? (result.error.stack ?? '').split('\n').slice(1).map((l) => l.trim()) : [];
  return {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId,
      functionArn: `arn:aws:lambda:${DEFAULT_REGION}:${accountId}:function:${functionName}:$LATEST`,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 1,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: error.errorType, errorMessage: error.errorMessage, trace: stack },
  };
}
