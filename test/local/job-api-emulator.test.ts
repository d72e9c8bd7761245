import {
  CodePipelineClient,
  AcknowledgeJobCommand,
  GetJobDetailsCommand,
  PollForJobsCommand,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
  type FailureType,
} from '@aws-sdk/client-codepipeline';
import { JobApiEmulator } from '../../src/local/job-api-emulator';
import { JOB_API_SHAPES, type StringShape, type IntegerShape } from '../../src/local/job-api-shapes';
import * as limits from '../../src/shared/limits';
import { codePipelineClient, FAKE_CREDENTIALS, REGION, sdkErrorOf } from '../support/servers';

const JOB = '11111111-2222-4333-8444-555555555555';
const OTHER_JOB = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';

let emulator: JobApiEmulator;
let client: CodePipelineClient;

beforeAll(async () => {
  emulator = await JobApiEmulator.start();
  client = codePipelineClient(emulator.endpoint);
});
afterAll(async () => {
  client.destroy();
  await emulator.close();
});

let jobId: string;
let counter = 0;
beforeEach(() => {
  // A fresh job per test, so tests never see each other's state.
  jobId = `0000${(counter++).toString(16).padStart(4, '0')}-2222-4333-8444-555555555555`;
  emulator.registerJob(jobId);
});

describe('reports change the job state', () => {
  test('a success ends the job Succeeded and records output variables and summary', async () => {
    await client.send(
      new PutJobSuccessResultCommand({ jobId, outputVariables: { url: 'https://example.com' }, executionDetails: { summary: 'deployed', percentComplete: 100 } }),
    );
    const job = emulator.job(jobId)!;
    expect(job.status).toBe('Succeeded');
    expect(job.results).toHaveLength(1);
    expect(job.results[0]).toMatchObject({
      operation: 'PutJobSuccessResult',
      outputVariables: { url: 'https://example.com' },
      executionDetails: { summary: 'deployed', percentComplete: 100 },
    });
  });

  test('a failure ends the job Failed and records the failure details', async () => {
    await client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'ConfigurationError', message: 'retries: must be >= 0' } }));
    const job = emulator.job(jobId)!;
    expect(job.status).toBe('Failed');
    expect(job.results[0].failureDetails).toEqual({ type: 'ConfigurationError', message: 'retries: must be >= 0' });
  });

  test('a success with a continuation token keeps the job in progress and remembers the token', async () => {
    await client.send(new PutJobSuccessResultCommand({ jobId, continuationToken: '{"step":2}', executionDetails: { percentComplete: 40 } }));
    expect(emulator.job(jobId)).toMatchObject({ status: 'InProgress', continuationToken: '{"step":2}' });
    await client.send(new PutJobSuccessResultCommand({ jobId }));
    expect(emulator.job(jobId)).toMatchObject({ status: 'Succeeded', continuationToken: undefined });
    expect(emulator.job(jobId)!.results).toHaveLength(2);
  });

  test('a report after the job ended is refused with InvalidJobStateException', async () => {
    await client.send(new PutJobSuccessResultCommand({ jobId }));
    const error = await sdkErrorOf(client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'JobFailed', message: 'late' } })));
    expect(error).toMatchObject({ name: 'InvalidJobStateException', status: 400 });
    expect(error.message).toMatch(/Succeeded/);
    expect(emulator.job(jobId)!.status).toBe('Succeeded');
  });

  test('a report for an unknown job is refused with JobNotFoundException', async () => {
    const error = await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId: OTHER_JOB })));
    expect(error).toMatchObject({ name: 'JobNotFoundException', status: 400 });
    expect(emulator.job(OTHER_JOB)).toBeUndefined();
  });

  test('onReport listeners hear each accepted report and can unsubscribe', async () => {
    const heard: string[] = [];
    const off = emulator.onReport((r) => heard.push(`${r.operation}:${r.jobId}`));
    await client.send(new PutJobSuccessResultCommand({ jobId, continuationToken: 't' }));
    off();
    await client.send(new PutJobSuccessResultCommand({ jobId }));
    expect(heard).toEqual([`PutJobSuccessResult:${jobId}`]);
  });
});

describe('requests are validated as the API model says', () => {
  test('an unknown failure type is a ValidationException naming the field and the allowed values', async () => {
    const error = await sdkErrorOf(
      client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'Oops' as FailureType, message: 'x' } })),
    );
    expect(error.name).toBe('ValidationException');
    expect(error.message).toMatch(/^1 validation error detected: Value 'Oops' at 'failureDetails.type' failed to satisfy constraint: Member must satisfy enum value set: \[JobFailed, ConfigurationError/);
    expect(emulator.job(jobId)!.status).toBe('InProgress');
  });

  test('a failure message of 5001 characters is refused and one of 5000 is accepted', async () => {
    const tooLong = await sdkErrorOf(
      client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'JobFailed', message: 'x'.repeat(limits.FAILURE_MESSAGE_MAX_LENGTH + 1) } })),
    );
    expect(tooLong.name).toBe('ValidationException');
    expect(tooLong.message).toMatch(/at 'failureDetails.message' failed to satisfy constraint: Member must have length less than or equal to 5000/);
    await client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'JobFailed', message: 'x'.repeat(limits.FAILURE_MESSAGE_MAX_LENGTH) } }));
    expect(emulator.job(jobId)!.status).toBe('Failed');
  });

  test('an empty failure message is refused', async () => {
    const error = await sdkErrorOf(client.send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'JobFailed', message: '' } })));
    expect(error.message).toMatch(/Member must have length greater than or equal to 1/);
  });

  test('a job id that is not a UUID is refused by pattern before any job lookup', async () => {
    const error = await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId: 'not-a-job' })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toMatch(/Value 'not-a-job' at 'jobId' failed to satisfy constraint: Member must satisfy regular expression pattern/);
  });

  test('a continuation token of 2049 characters is refused and one of 2048 is accepted', async () => {
    const error = await sdkErrorOf(
      client.send(new PutJobSuccessResultCommand({ jobId, continuationToken: 't'.repeat(limits.CONTINUATION_TOKEN_MAX_LENGTH + 1) })),
    );
    expect(error.message).toMatch(/at 'continuationToken' failed to satisfy constraint: Member must have length less than or equal to 2048/);
    await client.send(new PutJobSuccessResultCommand({ jobId, continuationToken: 't'.repeat(limits.CONTINUATION_TOKEN_MAX_LENGTH) }));
    expect(emulator.job(jobId)!.continuationToken).toHaveLength(limits.CONTINUATION_TOKEN_MAX_LENGTH);
  });

  test('an output variable name outside [A-Za-z0-9@-_] is refused as a map key violation', async () => {
    const error = await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId, outputVariables: { 'bad name': 'v' } })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toMatch(/Value 'bad name' at 'outputVariables' failed to satisfy constraint: Map keys must satisfy constraint: Member must satisfy regular expression pattern/);
  });

  test('output variables together with a continuation token are refused', async () => {
    const error = await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId, continuationToken: 't', outputVariables: { a: 'b' } })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toMatch(/outputVariables cannot be set together with a continuationToken/);
    expect(emulator.job(jobId)!.status).toBe('InProgress');
  });

  test('output variables over 122,880 bytes in total get OutputVariablesSizeExceededException; exactly the limit passes', async () => {
    const half = limits.OUTPUT_VARIABLES_MAX_BYTES / 2;
    const error = await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId, outputVariables: { a: 'x'.repeat(half), b: 'x'.repeat(half + 1) } })));
    expect(error).toMatchObject({ name: 'OutputVariablesSizeExceededException', status: 400 });
    await client.send(new PutJobSuccessResultCommand({ jobId, outputVariables: { a: 'x'.repeat(half), b: 'x'.repeat(half) } }));
    expect(emulator.job(jobId)!.status).toBe('Succeeded');
  });

  test('a percentComplete above 100 is refused', async () => {
    const error = await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId, continuationToken: 't', executionDetails: { percentComplete: 101 } })));
    expect(error.message).toMatch(/Value '101' at 'executionDetails.percentComplete' failed to satisfy constraint: Member must have value less than or equal to 100/);
  });

  test('several violations are reported together, counted as AWS counts them', async () => {
    const error = await sdkErrorOf(
      client.send(new PutJobSuccessResultCommand({ jobId, continuationToken: '', executionDetails: { summary: 's'.repeat(limits.EXECUTION_SUMMARY_MAX_LENGTH + 1) } })),
    );
    expect(error.message).toMatch(/^2 validation errors detected: .*'continuationToken'.*; .*'executionDetails.summary'/);
  });

  test('an operation the emulator does not serve is refused with UnknownOperationException', async () => {
    const res = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'CodePipeline_20150709.ListPipelines', 'content-type': 'application/x-amz-json-1.1' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException', message: expect.stringMatching(/PutJobSuccessResult/) });
  });

  test('GetJobDetails, AcknowledgeJob and PollForJobs are refused as custom-action APIs', async () => {
    const errors = [
      await sdkErrorOf(client.send(new GetJobDetailsCommand({ jobId }))),
      await sdkErrorOf(client.send(new AcknowledgeJobCommand({ jobId, nonce: '1' }))),
      await sdkErrorOf(client.send(new PollForJobsCommand({ actionTypeId: { category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1' } }))),
    ];
    for (const [i, name] of ['GetJobDetails', 'AcknowledgeJob', 'PollForJobs'].entries()) {
      expect(errors[i].name).toBe('ValidationException');
      expect(errors[i].message).toMatch(new RegExp(`^${name} is a custom-action job-worker API .*reports with PutJobSuccessResult or PutJobFailureResult`));
    }
    expect(emulator.job(jobId)?.status).toBe('InProgress');
  });

  test('a member the model does not have is refused and not stored (outputVariables on a failure)', async () => {
    const res = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'CodePipeline_20150709.PutJobFailureResult', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ jobId, failureDetails: { type: 'JobFailed', message: 'm' }, outputVariables: { a: 'b' } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'SerializationException', message: expect.stringMatching(/Unknown member 'outputVariables'/) });
    expect(emulator.job(jobId)).toMatchObject({ status: 'InProgress', results: [] });
  });

  test('an unknown member inside a nested structure is refused with its path', async () => {
    const res = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'CodePipeline_20150709.PutJobSuccessResult', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ jobId, executionDetails: { summary: 's', sumary: 'typo' } }),
    });
    expect(await res.json()).toMatchObject({ __type: 'SerializationException', message: expect.stringMatching(/'executionDetails.sumary'/) });
  });

  test('a body over 4 MB gets 413, is not retried, and the kept-alive connection serves the next request', async () => {
    const before = emulator.requests.length;
    const error = await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId, executionDetails: { summary: 'x'.repeat(5 * 1024 * 1024) } })));
    expect(error).toMatchObject({ name: 'RequestEntityTooLargeException', status: 413 });
    expect(emulator.requests.length - before).toBe(1);
    await client.send(new PutJobSuccessResultCommand({ jobId }));
    expect(emulator.job(jobId)?.status).toBe('Succeeded');
  });

  test('a large body is logged by its size, not kept', async () => {
    await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId: OTHER_JOB, executionDetails: { summary: 'y'.repeat(1024 * 1024) } })));
    const entry = emulator.requests.at(-1)!;
    expect(entry.body).toBeUndefined();
    expect(entry.bodyBytes).toBeGreaterThan(1024 * 1024);
  });

  test('a body that is not JSON is refused with SerializationException', async () => {
    const res = await fetch(emulator.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'CodePipeline_20150709.PutJobSuccessResult', 'content-type': 'application/x-amz-json-1.1' },
      body: '{"jobId":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'SerializationException' });
  });

  test('every request is recorded, refused ones with their error type', async () => {
    const before = emulator.requests.length;
    await sdkErrorOf(client.send(new PutJobSuccessResultCommand({ jobId: OTHER_JOB })));
    await client.send(new PutJobSuccessResultCommand({ jobId }));
    expect(emulator.requests.slice(before)).toEqual([
      expect.objectContaining({ operation: 'PutJobSuccessResult', status: 400, errorType: 'JobNotFoundException', body: { jobId: OTHER_JOB } }),
      expect.objectContaining({ operation: 'PutJobSuccessResult', status: 200, body: { jobId }, accessKeyId: FAKE_CREDENTIALS.accessKeyId }),
    ]);
  });
});

describe('the SDK finds the emulator through its own configuration', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('AWS_ENDPOINT_URL_CODEPIPELINE points a client built without an endpoint at the emulator', async () => {
    process.env.AWS_ENDPOINT_URL_CODEPIPELINE = emulator.endpoint;
    process.env.AWS_REGION = REGION;
    process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
    const plain = new CodePipelineClient({});
    try {
      await plain.send(new PutJobSuccessResultCommand({ jobId }));
    } finally {
      plain.destroy();
    }
    expect(emulator.job(jobId)!.status).toBe('Succeeded');
  });
});

describe('signatures are verified when the emulator is given credentials', () => {
  let strict: JobApiEmulator;
  beforeAll(async () => {
    strict = await JobApiEmulator.start({ credentials: [FAKE_CREDENTIALS] });
    strict.registerJob(JOB);
  });
  afterAll(() => strict.close());

  test('a request signed with the known credentials is accepted', async () => {
    const good = codePipelineClient(strict.endpoint);
    await good.send(new PutJobSuccessResultCommand({ jobId: JOB, continuationToken: 'keep-going' }));
    good.destroy();
    expect(strict.job(JOB)!.results).toHaveLength(1);
  });

  test('a request signed with a wrong secret is refused with InvalidSignatureException', async () => {
    const bad = codePipelineClient(strict.endpoint, { ...FAKE_CREDENTIALS, secretAccessKey: 'wrong' });
    const error = await sdkErrorOf(bad.send(new PutJobSuccessResultCommand({ jobId: JOB })));
    bad.destroy();
    expect(error.name).toBe('InvalidSignatureException');
  });

  test('a request signed with an unknown access key is refused with UnrecognizedClientException', async () => {
    const unknown = codePipelineClient(strict.endpoint, { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' });
    const error = await sdkErrorOf(unknown.send(new PutJobSuccessResultCommand({ jobId: JOB })));
    unknown.destroy();
    expect(error.name).toBe('UnrecognizedClientException');
  });
});

describe('the copied API model agrees with src/shared/limits.ts', () => {
  const str = (name: string) => JOB_API_SHAPES[name] as StringShape;
  test('string and integer limits match', () => {
    expect(str('ContinuationToken').max).toBe(limits.CONTINUATION_TOKEN_MAX_LENGTH);
    expect(str('Message').max).toBe(limits.FAILURE_MESSAGE_MAX_LENGTH);
    expect(str('ExecutionId').max).toBe(limits.EXTERNAL_EXECUTION_ID_MAX_LENGTH);
    expect(str('ExecutionSummary').max).toBe(limits.EXECUTION_SUMMARY_MAX_LENGTH);
    expect(JOB_API_SHAPES.Percentage as IntegerShape).toMatchObject({ min: limits.PERCENT_COMPLETE_MIN, max: limits.PERCENT_COMPLETE_MAX });
  });
  test('the failure types and the output variable name pattern match', () => {
    expect(str('FailureType').enum).toEqual([...limits.FAILURE_TYPES]);
    expect(`^${str('OutputVariablesKey').pattern}$`).toBe(limits.OUTPUT_VARIABLE_NAME_PATTERN.source);
  });
});
