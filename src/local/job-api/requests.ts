/** Reading a job-API request: its operation (X-Amz-Target), its body (size-capped), its JSON and its signing region. */
import type * as http from 'http';
import { ApiError } from './errors';
import { JOB_API_OPERATIONS, JOB_API_TARGET_PREFIX, type JobApiOperation } from '../job-api-shapes';

/** Requests of this API are small; the largest legal one (output variables) is well under 1 MB. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/**
 * The job-worker operations of custom actions. CodePipeline has them, but a Lambda invoke action's job is not a
 * custom-action job: the API reference says GetJobDetails is "used for custom actions only", and such a function
 * gets its job details in the event and reports with PutJobSuccessResult / PutJobFailureResult.
 */
const CUSTOM_ACTION_OPERATIONS = new Set(['GetJobDetails', 'AcknowledgeJob', 'PollForJobs']);

export function operationOf(req: http.IncomingMessage, target: string | undefined): JobApiOperation {
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    throw new ApiError('UnknownOperationException', `${req.method} ${req.url}: the CodePipeline API takes POST / with an X-Amz-Target header.`, 404);
  }
  const prefix = `${JOB_API_TARGET_PREFIX}.`;
  const name = target?.startsWith(prefix) ? target.slice(prefix.length) : undefined;
  if (name !== undefined && CUSTOM_ACTION_OPERATIONS.has(name)) {
    throw new ApiError(
      'ValidationException',
      `${name} is a custom-action job-worker API ("used for custom actions only", CodePipeline API reference); a Lambda invoke ` +
        'action job is not a custom-action job. A Lambda function gets the job details in its event (CodePipeline.job) and ' +
        'reports with PutJobSuccessResult or PutJobFailureResult.',
    );
  }
  if (name === undefined || !(name in JOB_API_OPERATIONS)) {
    throw new ApiError(
      'UnknownOperationException',
      `Operation ${target ?? '(no X-Amz-Target header)'} is not served by this emulator; it serves ${Object.keys(JOB_API_OPERATIONS)
        .map((op) => prefix + op)
        .join(' and ')}.`,
    );
  }
  return name as JobApiOperation;
}

/**
 * Reads the body up to MAX_REQUEST_BYTES. A larger body is read to its end and discarded (never kept in memory), then
 * refused with 413: a client error SDKs do not retry (a 500 would be retried), on a kept-alive connection that stays
 * usable (answering before the body is read would leave its rest in the stream).
 */
export async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_REQUEST_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_REQUEST_BYTES) {
    throw new ApiError('RequestEntityTooLargeException', `The request body has ${size} bytes; this API accepts at most ${MAX_REQUEST_BYTES}.`, 413);
  }
  return Buffer.concat(chunks);
}

export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.length === 0 ? '{}' : raw.toString('utf8'));
  } catch (err) {
    throw new ApiError('SerializationException', `The request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The region a SigV4 request was signed for (its credential scope), if it is signed. */
export function signingRegion(req: http.IncomingMessage): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
}
