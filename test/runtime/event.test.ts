import { inspect } from 'util';
import * as fc from 'fast-check';
import { InvalidJobEventError } from '../../src/shared/errors';
import { findJobId, parseJobEvent } from '../../src/shared/event';
import { FIXTURE_EVENT_FILES, fixtureEvent } from '../support/job-event';

const fixtureFiles = FIXTURE_EVENT_FILES;
const fixture = fixtureEvent;

function minimalEvent(): any {
  return fixture('synthetic-minimal-no-user-parameters-no-artifacts.json');
}

function fullEvent(): any {
  return fixture('synthetic-v2-pipeline-two-inputs-extra-fields.json');
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('parseJobEvent on real-world events', () => {
  test('there are fixtures to parse', () => {
    expect(fixtureFiles.length).toBeGreaterThanOrEqual(7);
  });

  test.each(fixtureFiles)('%s parses', (file) => {
    const raw = fixture(file);
    const event = parseJobEvent(raw);
    expect(event['CodePipeline.job'].id).toBe(raw['CodePipeline.job'].id);
    expect(event['CodePipeline.job'].data.inputArtifacts).toHaveLength(raw['CodePipeline.job'].data.inputArtifacts.length);
  });

  test('an absent UserParameters becomes the empty string', () => {
    const event = parseJobEvent(fixture('powertools-python-codePipelineEventEmptyUserParameters.json'));
    expect(event['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters).toBe('');
  });

  test('a null revision stays null and an absent revision becomes null', () => {
    const raw = fullEvent();
    delete raw['CodePipeline.job'].data.inputArtifacts[0].revision;
    const event = parseJobEvent(raw);
    expect(event['CodePipeline.job'].data.inputArtifacts[0].revision).toBeNull();
    expect(event['CodePipeline.job'].data.inputArtifacts[1].revision).toBeNull();
  });

  test('encryptionKey, continuationToken and expirationTime are kept when present', () => {
    const data = parseJobEvent(fullEvent())['CodePipeline.job'].data;
    expect(data.encryptionKey).toEqual({ id: 'arn:aws:kms:eu-west-1:123456789012:alias/aws/s3', type: 'KMS' });
    expect(data.continuationToken).toBe('{"v":1,"state":{"step":2}}');
    expect(data.artifactCredentials.expirationTime).toBe(1767225600000);
  });

  test('encryptionKey and continuationToken are absent when the event has none', () => {
    const data = parseJobEvent(minimalEvent())['CodePipeline.job'].data;
    expect('encryptionKey' in data).toBe(false);
    expect('continuationToken' in data).toBe(false);
  });

  test('a null encryptionKey or continuationToken counts as absent', () => {
    const raw = minimalEvent();
    raw['CodePipeline.job'].data.encryptionKey = null;
    raw['CodePipeline.job'].data.continuationToken = null;
    const data = parseJobEvent(raw)['CodePipeline.job'].data;
    expect(data.encryptionKey).toBeUndefined();
    expect(data.continuationToken).toBeUndefined();
  });

  test('extra fields are kept', () => {
    const event = parseJobEvent(fullEvent()) as any;
    expect(event['CodePipeline.job'].futureField).toBe(true);
    expect(event['CodePipeline.job'].data.pipelineContext.pipelineName).toBe('MyPipeline');
  });

  test('the input object is not modified', () => {
    const raw = fullEvent();
    const before = JSON.stringify(raw);
    parseJobEvent(raw);
    expect(JSON.stringify(raw)).toBe(before);
  });
});

describe('parseJobEvent keeps credentials out of logs', () => {
  const secret = 'example/secret/access/key/EXAMPLEKEY00';
  const token = 'example-session-token';

  test('the credentials are still readable by code', () => {
    const credentials = parseJobEvent(fullEvent())['CodePipeline.job'].data.artifactCredentials;
    expect(credentials.secretAccessKey).toBe(secret);
    expect(credentials.sessionToken).toBe(token);
    expect(credentials.accessKeyId).toBe('ASIAEXAMPLEEXAMPLE00');
  });

  test('JSON.stringify of the event redacts the secret and the session token', () => {
    const json = JSON.stringify(parseJobEvent(fullEvent()));
    expect(json).not.toContain(secret);
    expect(json).not.toContain(token);
    expect(json).toContain('[redacted]');
  });

  test('util.inspect of the event redacts them', () => {
    const text = inspect(parseJobEvent(fullEvent()), { depth: null, showHidden: false });
    expect(text).not.toContain(secret);
    expect(text).not.toContain(token);
  });

  test('String() and a spread copy of the credentials do not show them', () => {
    const credentials = parseJobEvent(fullEvent())['CodePipeline.job'].data.artifactCredentials;
    expect(String(credentials)).toBe('[ArtifactCredentials]');
    expect(Object.values({ ...credentials })).not.toContain(secret);
    expect(Object.values({ ...credentials })).not.toContain(token);
  });

  test('an error about a bad credential field names the field but not the other credentials', () => {
    const raw = fullEvent();
    raw['CodePipeline.job'].data.artifactCredentials.accessKeyId = 42;
    const error = thrownBy(() => parseJobEvent(raw)) as InvalidJobEventError;
    expect(error.path).toBe('CodePipeline.job.data.artifactCredentials.accessKeyId');
    expect(`${error.message} ${error.stack}`).not.toContain(secret);
    expect(`${error.message} ${error.stack}`).not.toContain(token);
  });
});

describe('parseJobEvent rejects malformed events with the field path', () => {
  const cases: Array<[string, (e: any) => unknown, string]> = [
    ['the event is null', () => null, ''],
    ['the event is an array', () => [], ''],
    ['the event is a string', () => 'CodePipeline.job', ''],
    ['CodePipeline.job is missing', () => ({ 'CodePipeline.job ': {} }), 'CodePipeline.job'],
    ['the job id is missing', (e) => delete e['CodePipeline.job'].id, 'CodePipeline.job.id'],
    ['the job id is empty', (e) => (e['CodePipeline.job'].id = ''), 'CodePipeline.job.id'],
    ['the job id holds a NUL byte', (e) => (e['CodePipeline.job'].id = 'a\0b'), 'CodePipeline.job.id'],
    ['the job id is a path', (e) => (e['CodePipeline.job'].id = '../../etc/passwd'), 'CodePipeline.job.id'],
    ['the job id is 10 MB long', (e) => (e['CodePipeline.job'].id = 'a'.repeat(10 * 1024 * 1024)), 'CodePipeline.job.id'],
    ['the job id is a UUID with a trailing newline', (e) => (e['CodePipeline.job'].id = '11111111-2222-4333-8444-555555555555\n'), 'CodePipeline.job.id'],
    ['the account id is a number', (e) => (e['CodePipeline.job'].accountId = 123456789012), 'CodePipeline.job.accountId'],
    ['data is null', (e) => (e['CodePipeline.job'].data = null), 'CodePipeline.job.data'],
    ['the configuration is missing', (e) => delete e['CodePipeline.job'].data.actionConfiguration.configuration, 'CodePipeline.job.data.actionConfiguration.configuration'],
    ['FunctionName is missing', (e) => delete e['CodePipeline.job'].data.actionConfiguration.configuration.FunctionName, 'CodePipeline.job.data.actionConfiguration.configuration.FunctionName'],
    ['UserParameters is an object', (e) => (e['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters = { a: 1 }), 'CodePipeline.job.data.actionConfiguration.configuration.UserParameters'],
    ['inputArtifacts is an object', (e) => (e['CodePipeline.job'].data.inputArtifacts = {}), 'CodePipeline.job.data.inputArtifacts'],
    ['outputArtifacts is missing', (e) => delete e['CodePipeline.job'].data.outputArtifacts, 'CodePipeline.job.data.outputArtifacts'],
    ['an artifact is null', (e) => (e['CodePipeline.job'].data.inputArtifacts[1] = null), 'CodePipeline.job.data.inputArtifacts[1]'],
    ['an artifact name is empty', (e) => (e['CodePipeline.job'].data.outputArtifacts[0].name = ''), 'CodePipeline.job.data.outputArtifacts[0].name'],
    ['a revision is a number', (e) => (e['CodePipeline.job'].data.inputArtifacts[0].revision = 7), 'CodePipeline.job.data.inputArtifacts[0].revision'],
    ['a location type is not S3', (e) => (e['CodePipeline.job'].data.inputArtifacts[0].location.type = 'CodeCommit'), 'CodePipeline.job.data.inputArtifacts[0].location.type'],
    ['a bucket name is a number', (e) => (e['CodePipeline.job'].data.inputArtifacts[0].location.s3Location.bucketName = 1), 'CodePipeline.job.data.inputArtifacts[0].location.s3Location.bucketName'],
    ['an object key is missing', (e) => delete e['CodePipeline.job'].data.inputArtifacts[1].location.s3Location.objectKey, 'CodePipeline.job.data.inputArtifacts[1].location.s3Location.objectKey'],
    ['the credentials are missing', (e) => delete e['CodePipeline.job'].data.artifactCredentials, 'CodePipeline.job.data.artifactCredentials'],
    ['the secret access key is empty', (e) => (e['CodePipeline.job'].data.artifactCredentials.secretAccessKey = ''), 'CodePipeline.job.data.artifactCredentials.secretAccessKey'],
    ['expirationTime is a string', (e) => (e['CodePipeline.job'].data.artifactCredentials.expirationTime = '2026-01-01'), 'CodePipeline.job.data.artifactCredentials.expirationTime'],
    ['the encryption key type is not KMS', (e) => (e['CodePipeline.job'].data.encryptionKey.type = 'AES256'), 'CodePipeline.job.data.encryptionKey.type'],
    ['the encryption key id is missing', (e) => delete e['CodePipeline.job'].data.encryptionKey.id, 'CodePipeline.job.data.encryptionKey.id'],
    ['the continuation token is empty', (e) => (e['CodePipeline.job'].data.continuationToken = ''), 'CodePipeline.job.data.continuationToken'],
  ];

  test.each(cases)('when %s', (_name, mutate, expectedPath) => {
    let raw = fullEvent();
    const replaced = mutate(raw);
    if (expectedPath === '' || expectedPath === 'CodePipeline.job') {
      raw = replaced;
    }
    const error = thrownBy(() => parseJobEvent(raw));
    expect(error).toBeInstanceOf(InvalidJobEventError);
    expect((error as InvalidJobEventError).path).toBe(expectedPath);
    if (expectedPath !== '') {
      expect((error as Error).message).toContain(expectedPath);
    }
  });

  test('a refused job id is not echoed in the message', () => {
    const raw = fullEvent();
    raw['CodePipeline.job'].id = 'x'.repeat(5000);
    const error = thrownBy(() => parseJobEvent(raw)) as Error;
    expect(error.message).toMatch(/CodePipeline\.job\.id must be a job id .* 5000 characters/);
    expect(error.message).not.toContain('x'.repeat(100));
  });

  test('findJobId gives no id for an event whose id the job API would refuse', () => {
    for (const id of ['a\0b', '../../etc/passwd', 'a'.repeat(100_000), '']) {
      expect(findJobId({ 'CodePipeline.job': { id } })).toBeUndefined();
    }
    expect(findJobId({ 'CodePipeline.job': { id: '11111111-2222-4333-8444-555555555555', data: null } })).toBe('11111111-2222-4333-8444-555555555555');
  });

  test('the message shows a bad enum value, so the reader sees what came', () => {
    const raw = fullEvent();
    raw['CodePipeline.job'].data.inputArtifacts[0].location.type = 'CodeCommit';
    expect(() => parseJobEvent(raw)).toThrow(/location\.type must be "S3", got "CodeCommit"/);
  });
});

// ---- property-based: one field of a valid event is broken; the parser must name exactly that field ----

type Segment = string | number;
type Kind = 'object' | 'nonEmptyString' | 'array' | 'S3' | 'KMS' | 'revision' | 'userParameters' | 'optionalNonEmptyString' | 'expirationTime';

const nonObject = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.array(fc.anything(), { maxLength: 3 }),
);
const nonString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.object({ maxDepth: 1 }), fc.array(fc.string(), { maxLength: 3 }));

const invalidValue: Record<Kind, fc.Arbitrary<unknown>> = {
  object: nonObject,
  nonEmptyString: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant(''), nonString),
  array: fc.oneof(fc.constant(undefined), fc.constant(null), fc.string(), fc.integer(), fc.object({ maxDepth: 1 })),
  S3: fc.anything().filter((v) => v !== 'S3'),
  KMS: fc.anything().filter((v) => v !== 'KMS'),
  revision: nonString,
  userParameters: nonString,
  optionalNonEmptyString: fc.oneof(fc.constant(''), nonString),
  expirationTime: fc.oneof(fc.string(), fc.boolean(), fc.object({ maxDepth: 1 }), fc.constant(Number.NaN), fc.constant(Number.POSITIVE_INFINITY)),
};

const text = fc.string({ minLength: 1, maxLength: 20 });
const artifact = fc.record({
  name: text,
  revision: fc.option(text, { nil: null }),
  location: fc.record({ type: fc.constant('S3'), s3Location: fc.record({ bucketName: text, objectKey: text }) }),
});
const validEvent = fc.record({
  'CodePipeline.job': fc.record({
    id: fc.uuid(),
    accountId: fc.stringMatching(/^[0-9]{12}$/),
    data: fc.record(
      {
        actionConfiguration: fc.record({
          configuration: fc.record({ FunctionName: text, UserParameters: fc.string() }, { requiredKeys: ['FunctionName'] }),
        }),
        inputArtifacts: fc.array(artifact, { maxLength: 3 }),
        outputArtifacts: fc.array(artifact, { maxLength: 3 }),
        artifactCredentials: fc.record(
          { accessKeyId: text, secretAccessKey: text, sessionToken: text, expirationTime: fc.integer({ min: 0 }) },
          { requiredKeys: ['accessKeyId', 'secretAccessKey'] },
        ),
        encryptionKey: fc.record({ id: text, type: fc.constant('KMS') }),
        continuationToken: text,
      },
      { requiredKeys: ['actionConfiguration', 'inputArtifacts', 'outputArtifacts', 'artifactCredentials'] },
    ),
  }),
});

/** Every field the parser checks in `event`, with the kind of value it requires. */
function checkedFields(event: any): Array<[Segment[], Kind]> {
  const job: Segment[] = ['CodePipeline.job'];
  const data: Segment[] = [...job, 'data'];
  const fields: Array<[Segment[], Kind]> = [
    [job, 'object'],
    [[...job, 'id'], 'nonEmptyString'],
    [[...job, 'accountId'], 'nonEmptyString'],
    [data, 'object'],
    [[...data, 'actionConfiguration'], 'object'],
    [[...data, 'actionConfiguration', 'configuration'], 'object'],
    [[...data, 'actionConfiguration', 'configuration', 'FunctionName'], 'nonEmptyString'],
    [[...data, 'actionConfiguration', 'configuration', 'UserParameters'], 'userParameters'],
    [[...data, 'inputArtifacts'], 'array'],
    [[...data, 'outputArtifacts'], 'array'],
    [[...data, 'artifactCredentials'], 'object'],
    [[...data, 'artifactCredentials', 'accessKeyId'], 'nonEmptyString'],
    [[...data, 'artifactCredentials', 'secretAccessKey'], 'nonEmptyString'],
    [[...data, 'artifactCredentials', 'sessionToken'], 'optionalNonEmptyString'],
    [[...data, 'artifactCredentials', 'expirationTime'], 'expirationTime'],
    [[...data, 'continuationToken'], 'optionalNonEmptyString'],
  ];
  for (const list of ['inputArtifacts', 'outputArtifacts']) {
    (event['CodePipeline.job'].data[list] as unknown[]).forEach((_a, i) => {
      const a: Segment[] = [...data, list, i];
      fields.push(
        [a, 'object'],
        [[...a, 'name'], 'nonEmptyString'],
        [[...a, 'revision'], 'revision'],
        [[...a, 'location'], 'object'],
        [[...a, 'location', 'type'], 'S3'],
        [[...a, 'location', 's3Location'], 'object'],
        [[...a, 'location', 's3Location', 'bucketName'], 'nonEmptyString'],
        [[...a, 'location', 's3Location', 'objectKey'], 'nonEmptyString'],
      );
    });
  }
  if (event['CodePipeline.job'].data.encryptionKey !== undefined) {
    fields.push([[...data, 'encryptionKey', 'id'], 'nonEmptyString'], [[...data, 'encryptionKey', 'type'], 'KMS']);
  }
  return fields;
}

function formatPath(segments: Segment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function withValueAt(event: unknown, segments: Segment[], value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(event));
  let parent = copy;
  segments.slice(0, -1).forEach((s) => (parent = parent[s]));
  const last = segments[segments.length - 1];
  if (value === undefined) {
    delete parent[last];
  } else {
    parent[last] = value;
  }
  return copy;
}

const brokenEvent = validEvent.chain((event) =>
  fc
    .constantFrom(...checkedFields(event))
    .chain(([segments, kind]) => invalidValue[kind].map((value) => ({ event: withValueAt(event, segments, value), path: formatPath(segments) }))),
);

describe('parseJobEvent, property-based', () => {
  test('every generated valid event parses', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        parseJobEvent(event);
      }),
      { numRuns: 1_000 },
    );
  });

  test('an event with one broken field fails with InvalidJobEventError naming that field (10,000 cases)', () => {
    fc.assert(
      fc.property(brokenEvent, ({ event, path: expectedPath }) => {
        const error = thrownBy(() => parseJobEvent(event));
        return error instanceof InvalidJobEventError && error.path === expectedPath;
      }),
      { numRuns: 10_000 },
    );
  });

  test('any JSON-like value either parses or fails with InvalidJobEventError, never a TypeError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ 'CodePipeline.job': fc.anything() })), (value) => {
        try {
          parseJobEvent(value);
          return true;
        } catch (e) {
          return e instanceof InvalidJobEventError;
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
