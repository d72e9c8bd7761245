/**
 * Job events for tests: `jobEvent()` builds one as the service sends it, and `fixtureEvent()` reads one of the real
 * and synthetic events in test/fixtures/events. `jobEvent()` does not go through `buildJobEvent` of src/local: that
 * one checks and renders UserParameters as the service would (1 to 1000 characters, variables substituted), while the
 * tests also need to hand the handler what the service would never send (oversized, empty or hostile UserParameters).
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FAKE_SESSION_CREDENTIALS } from './credentials';

export interface EventOptions {
  readonly jobId?: string;
  readonly bucket?: string;
  readonly inputs?: Record<string, string>; // artifact name -> object key
  readonly outputs?: Record<string, string>;
  readonly userParameters?: string;
  readonly continuationToken?: string;
  readonly encryptionKeyId?: string;
}

/** A CodePipeline job event as the service sends it, for a fresh job id unless one is given. */
export function jobEvent(options: EventOptions = {}): any {
  const artifact = ([name, key]: [string, string]) => ({
    name,
    revision: null,
    location: { type: 'S3', s3Location: { bucketName: options.bucket ?? 'artifacts', objectKey: key } },
  });
  return {
    'CodePipeline.job': {
      id: options.jobId ?? randomUUID(),
      accountId: '123456789012',
      data: {
        actionConfiguration: {
          configuration: {
            FunctionName: 'handler-under-test',
            ...(options.userParameters !== undefined ? { UserParameters: options.userParameters } : {}),
          },
        },
        inputArtifacts: Object.entries(options.inputs ?? {}).map(artifact),
        outputArtifacts: Object.entries(options.outputs ?? {}).map(artifact),
        artifactCredentials: { ...FAKE_SESSION_CREDENTIALS, expirationTime: Date.now() + 3_600_000 },
        ...(options.continuationToken !== undefined ? { continuationToken: options.continuationToken } : {}),
        ...(options.encryptionKeyId !== undefined ? { encryptionKey: { id: options.encryptionKeyId, type: 'KMS' } } : {}),
      },
    },
  };
}

const FIXTURE_EVENTS = path.join(__dirname, '..', 'fixtures', 'events');

/** The event files of test/fixtures/events (see its README for where each comes from). */
export const FIXTURE_EVENT_FILES: readonly string[] = fs.readdirSync(FIXTURE_EVENTS).filter((f) => f.endsWith('.json'));

/** A fresh copy of one fixture event, parsed from its file (tests may change it). */
export function fixtureEvent(file: string): any {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_EVENTS, file), 'utf8'));
}
