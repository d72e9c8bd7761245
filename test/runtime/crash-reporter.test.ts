import { failureFromRecord } from '../../src/runtime/crash-reporter';
import { InvalidJobEventError } from '../../src/shared/errors';
import { FAILURE_MESSAGE_MAX_LENGTH } from '../../src/shared/limits';
import { fixtureEvent } from '../support/job-event';

const jobEvent = () => fixtureEvent('synthetic-v2-pipeline-two-inputs-extra-fields.json');

/** A failure record as Lambda sends it to an onFailure destination. */
interface RecordOverrides {
  responsePayload?: unknown;
  requestContext?: object;
  requestPayload?: unknown;
  responseContext?: object;
}

function failureRecord(overrides: RecordOverrides = {}): any {
  return {
    version: '1.0',
    timestamp: '2026-05-01T10:05:00.000Z',
    requestContext: {
      requestId: 'c7f5a2b4-1d1e-4f7e-9a8b-0d3c2b1a0f9e',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:smoke-test:$LATEST',
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
      ...overrides.requestContext,
    },
    requestPayload: 'requestPayload' in overrides ? overrides.requestPayload : jobEvent(),
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled', ...overrides.responseContext },
    responsePayload:
      'responsePayload' in overrides
        ? overrides.responsePayload
        : { errorType: 'TypeError', errorMessage: "Cannot read properties of undefined (reading 'url')", trace: ['TypeError: ...'] },
  };
}

describe('failureFromRecord', () => {
  test('takes the job id from the failed CodePipeline event', () => {
    expect(failureFromRecord(failureRecord()).jobId).toBe('6b7f1c52-2c8e-4f0e-9d3a-5f4b2a1e0c9d');
  });

  test('reports a JobFailed with the error, its type, the condition, the attempts and the request id', () => {
    const { failure } = failureFromRecord(failureRecord());
    expect(failure.type).toBe('JobFailed');
    expect(failure.message).toBe(
      "Lambda function crashed: Cannot read properties of undefined (reading 'url') " +
        '(TypeError, condition RetriesExhausted, 3 attempts, request c7f5a2b4-1d1e-4f7e-9a8b-0d3c2b1a0f9e)',
    );
  });

  test('uses the Lambda request id as the external execution id', () => {
    expect(failureFromRecord(failureRecord()).failure.externalExecutionId).toBe('c7f5a2b4-1d1e-4f7e-9a8b-0d3c2b1a0f9e');
  });

  test('a timeout reads as the timeout, without the timestamp prefix Lambda puts before it', () => {
    const record = failureRecord({
      responsePayload: {
        errorType: 'Sandbox.Timedout',
        errorMessage: '2026-05-01T10:04:59.123Z c7f5a2b4-1d1e-4f7e-9a8b-0d3c2b1a0f9e Task timed out after 300.00 seconds',
      },
      requestContext: { approximateInvokeCount: 1 },
    });
    expect(failureFromRecord(record).failure.message).toBe(
      'Lambda function crashed: Task timed out after 300.00 seconds ' +
        '(Sandbox.Timedout, condition RetriesExhausted, 1 attempt, request c7f5a2b4-1d1e-4f7e-9a8b-0d3c2b1a0f9e)',
    );
  });

  test('a plain Error type is not repeated in the details', () => {
    const record = failureRecord({ responsePayload: { errorType: 'Error', errorMessage: 'boom' } });
    expect(failureFromRecord(record).failure.message).toMatch(/^Lambda function crashed: boom \(condition RetriesExhausted/);
  });

  test('an expired event without a response says the event expired', () => {
    const record = failureRecord({ responsePayload: undefined, requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 0 } });
    expect(failureFromRecord(record).failure.message).toMatch(/^Lambda function never completed: the event expired .*condition EventAgeExceeded/);
  });

  test('a crash without an error message names the function error', () => {
    const record = failureRecord({ responsePayload: null, responseContext: { functionError: 'Unhandled' } });
    expect(failureFromRecord(record).failure.message).toMatch(/^Lambda function crashed without an error message \(function error Unhandled,/);
  });

  test('a huge error message is cut to the API limit with a marker, keeping the run details', () => {
    const record = failureRecord({ responsePayload: { errorType: 'Error', errorMessage: 'x'.repeat(20_000) } });
    const { message } = failureFromRecord(record).failure;
    expect(message.length).toBeLessThanOrEqual(FAILURE_MESSAGE_MAX_LENGTH);
    expect(message).toMatch(/characters cut\]/);
    expect(message).toMatch(/request c7f5a2b4-1d1e-4f7e-9a8b-0d3c2b1a0f9e\)$/);
  });

  test('a malformed job event that still has a job id is reported, with the problem noted', () => {
    const payload = jobEvent();
    payload['CodePipeline.job'].data.inputArtifacts = 'oops';
    const crash = failureFromRecord(failureRecord({ requestPayload: payload }));
    expect(crash.jobId).toBe('6b7f1c52-2c8e-4f0e-9d3a-5f4b2a1e0c9d');
    expect(crash.eventProblem).toMatch(/CodePipeline\.job\.data\.inputArtifacts must be an array/);
  });

  test('a record without a job id is refused with the field path inside requestPayload', () => {
    const payload = jobEvent();
    delete payload['CodePipeline.job'].id;
    expect(() => failureFromRecord(failureRecord({ requestPayload: payload }))).toThrow(InvalidJobEventError);
    expect(() => failureFromRecord(failureRecord({ requestPayload: payload }))).toThrow(/requestPayload\.CodePipeline\.job\.id/);
  });

  test('something that is not a record is refused', () => {
    expect(() => failureFromRecord('not a record')).toThrow(InvalidJobEventError);
    expect(() => failureFromRecord({ requestPayload: { hello: 'world' } })).toThrow(/requestPayload\.CodePipeline\.job must be an object/);
  });

  test('the failure never carries the credentials of the event', () => {
    const crash = failureFromRecord(failureRecord());
    expect(JSON.stringify(crash)).not.toContain('example/secret/access/key');
  });
});
