import type { SigV4Refusal } from '../internal/sigv4';
import { element } from '../internal/xml';

/** An S3 error: `<Error><Code>..</Code><Message>..</Message>...</Error>` with its status. */
export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const SIGNATURE_ERRORS: Record<SigV4Refusal, [number, string]> = {
  missing: [403, 'AccessDenied'],
  malformed: [400, 'AuthorizationHeaderMalformed'],
  unknownKey: [403, 'InvalidAccessKeyId'],
  badToken: [400, 'InvalidToken'],
  badSignature: [403, 'SignatureDoesNotMatch'],
  skewed: [403, 'RequestTimeTooSkewed'],
  expired: [403, 'AccessDenied'],
};

export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  return new S3Error(500, 'InternalError', `We encountered an internal error: ${err instanceof Error ? err.message : String(err)}`);
}

/** The XML body of an S3 error response. */
export function errorXml(error: S3Error, resource: string, requestId: string): string {
  const extra = Object.entries(error.extra)
    .map(([k, v]) => element(k, v))
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' +
    element('Code', error.code) +
    element('Message', error.message) +
    extra +
    element('Resource', resource) +
    element('RequestId', requestId) +
    '</Error>'
  );
}

/** The 400 S3 answers a request body it cannot read as the XML it expects. */
export function malformedXml(detail?: string): S3Error {
  return new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema' + (detail ? ` (${detail})` : ''));
}

/** S3's answer to a body over the size cap (PutObject, UploadPart, UploadPartCopy). */
export function entityTooLarge(proposed: number | undefined, max: number): S3Error {
  return new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed object size.', {
    ...(proposed === undefined ? {} : { ProposedSize: String(proposed) }),
    MaxSizeAllowed: String(max),
  });
}
