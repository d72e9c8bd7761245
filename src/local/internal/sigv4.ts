import * as crypto from 'crypto';
import type * as http from 'http';

/** Credentials a local server accepts. With a session token, requests must carry that same token. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Why a request's signature was refused; each server maps this to its own AWS error code. */
export type SigV4Refusal = 'missing' | 'malformed' | 'unknownKey' | 'badToken' | 'badSignature' | 'skewed' | 'expired';

export type SigV4Result =
  | { readonly ok: true; readonly accessKeyId?: string }
  | { readonly ok: false; readonly reason: SigV4Refusal; readonly message: string };

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly scope: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

const AUTHORIZATION_PATTERN =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const m = AUTHORIZATION_PATTERN.exec(value);
  if (!m) return undefined;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m;
  return {
    accessKeyId,
    date,
    region,
    service,
    scope: `${date}/${region}/${service}/aws4_request`,
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

/** RFC 3986 encoding as SigV4 requires (encodeURIComponent leaves !'()* alone). */
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  return rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      return [strictEncode(safeDecode(name)), strictEncode(safeDecode(value))] as const;
    })
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Header values as sent (rawHeaders keeps repeated headers apart), trimmed and with inner spaces collapsed. */
function canonicalHeaders(req: http.IncomingMessage, names: readonly string[]): string | undefined {
  const values = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const list = values.get(name) ?? [];
    list.push(req.rawHeaders[i + 1].trim().replace(/\s+/g, ' '));
    values.set(name, list);
  }
  const lines: string[] = [];
  for (const name of names) {
    const list = values.get(name);
    if (!list) return undefined;
    lines.push(`${name}:${list.join(',')}\n`);
  }
  return lines.join('');
}

function hmac(key: crypto.BinaryLike, data: string): Buffer {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

export function sha256Hex(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** SigV4 requests dated more than 15 minutes from the server's clock are refused (S3: RequestTimeTooSkewed). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** A presigned URL is valid for at most 7 days (X-Amz-Expires 1..604800), as S3 allows. */
const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;

/** `20250101T000000Z` as a time; NaN when malformed. */
function parseAmzDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : NaN;
}

interface SignedRequest {
  readonly auth: ParsedAuthorization;
  readonly amzDate: string;
  readonly sessionToken?: string;
  /** The raw query without X-Amz-Signature (presigned URLs sign the query minus the signature). */
  readonly rawQuery: string;
  readonly payloadHash: string;
}

/** A presigned URL's query parameters (SigV4 query authentication), or a refusal. */
function presigned(rawQuery: string, now: number): SignedRequest | SigV4Result {
  const params = new URLSearchParams(rawQuery);
  const credential = params.get('X-Amz-Credential') ?? '';
  const amzDate = params.get('X-Amz-Date') ?? '';
  const expires = Number(params.get('X-Amz-Expires'));
  const signedHeaders = params.get('X-Amz-SignedHeaders') ?? '';
  const signature = params.get('X-Amz-Signature') ?? '';
  const auth = parseAuthorization(`AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=${signedHeaders}, Signature=${signature}`);
  const date = parseAmzDate(amzDate);
  if (!auth || Number.isNaN(date) || !Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGNED_EXPIRES_SECONDS) {
    return { ok: false, reason: 'malformed', message: 'Query-string authentication requires X-Amz-Credential, X-Amz-Date, X-Amz-Expires (1 to 604800), X-Amz-SignedHeaders and X-Amz-Signature.' };
  }
  if (now > date + expires * 1000) return { ok: false, reason: 'expired', message: 'Request has expired' };
  if (date - now > MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'skewed', message: 'Request is not valid yet: X-Amz-Date is in the future.' };
  const withoutSignature = rawQuery
    .split('&')
    .filter((pair) => !pair.startsWith('X-Amz-Signature='))
    .join('&');
  return { auth, amzDate, sessionToken: params.get('X-Amz-Security-Token') ?? undefined, rawQuery: withoutSignature, payloadHash: 'UNSIGNED-PAYLOAD' };
}

/**
 * Verifies an AWS Signature Version 4 request the way AWS does: an `Authorization` header, or (S3) a presigned URL's
 * query authentication with its expiry. Either way the request time must be within 15 minutes of the server's clock
 * (presigned: not expired), checked even without `lookup`.
 *
 * `payloadHash` is what the client signed as the payload: the body's SHA-256 for JSON APIs, the
 * `x-amz-content-sha256` header for S3 (which may be `UNSIGNED-PAYLOAD` or a `STREAMING-...` marker). The caller
 * checks that the body really has that hash. Without `lookup` any well-formed signature is accepted (like moto).
 */
export function verifySigV4(
  req: http.IncomingMessage,
  payloadHash: string,
  lookup: ((accessKeyId: string) => LocalCredentials | undefined) | undefined,
  options: { readonly presignedUrls?: boolean; readonly now?: number } = {},
): SigV4Result {
  const now = options.now ?? Date.now();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const authorization = req.headers.authorization;
  let signed: SignedRequest;
  if (authorization === undefined) {
    if (options.presignedUrls && /(^|&)AWSAccessKeyId=/.test(rawQuery) && /(^|&)Signature=/.test(rawQuery)) {
      return {
        ok: false,
        reason: 'malformed',
        message: 'This is a Signature Version 2 presigned URL; only SigV4 is served (aws CLI v1: aws configure set default.s3.signature_version s3v4).',
      };
    }
    if (!(options.presignedUrls && /(^|&)X-Amz-Algorithm=AWS4-HMAC-SHA256(&|$)/.test(rawQuery))) {
      return lookup ? { ok: false, reason: 'missing', message: 'Request is missing Authentication Token' } : { ok: true };
    }
    const query = presigned(rawQuery, now);
    if ('ok' in query) return query;
    signed = query;
  } else {
    const auth = parseAuthorization(authorization);
    if (!auth) {
      return { ok: false, reason: 'malformed', message: `Authorization header is not a valid AWS4-HMAC-SHA256 signature: ${authorization.split(',')[0]}` };
    }
    const amzDate = req.headers['x-amz-date'];
    if (typeof amzDate === 'string') {
      const date = parseAmzDate(amzDate);
      if (Number.isNaN(date)) return { ok: false, reason: 'malformed', message: `X-Amz-Date ${JSON.stringify(amzDate)} is not in the ISO 8601 basic format (20250101T000000Z).` };
      if (Math.abs(now - date) > MAX_CLOCK_SKEW_MS) {
        return {
          ok: false,
          reason: 'skewed',
          message: `The difference between the request time (${new Date(date).toISOString()}) and the current time (${new Date(now).toISOString()}) is too large.`,
        };
      }
    }
    if (!lookup) return { ok: true, accessKeyId: auth.accessKeyId };
    if (typeof amzDate !== 'string') return { ok: false, reason: 'malformed', message: 'A signed header (or X-Amz-Date) is missing from the request.' };
    const token = req.headers['x-amz-security-token'];
    signed = { auth, amzDate, sessionToken: typeof token === 'string' ? token : undefined, rawQuery, payloadHash };
  }
  const { auth } = signed;
  if (!lookup) return { ok: true, accessKeyId: auth.accessKeyId };
  const credentials = lookup(auth.accessKeyId);
  if (!credentials) {
    return { ok: false, reason: 'unknownKey', message: `The AWS Access Key Id ${auth.accessKeyId} does not exist in our records.` };
  }
  if (credentials.sessionToken !== undefined && signed.sessionToken !== credentials.sessionToken) {
    return { ok: false, reason: 'badToken', message: 'The provided token is malformed or otherwise invalid.' };
  }
  const headers = canonicalHeaders(req, auth.signedHeaders);
  if (headers === undefined) {
    return { ok: false, reason: 'malformed', message: 'A signed header (or X-Amz-Date) is missing from the request.' };
  }
  const canonicalRequest = [
    req.method,
    q < 0 ? url : url.slice(0, q),
    canonicalQuery(signed.rawQuery),
    headers,
    auth.signedHeaders.join(';'),
    signed.payloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', signed.amzDate, auth.scope, sha256Hex(canonicalRequest)].join('\n');
  const expected = crypto
    .createHmac('sha256', signingKey(credentials.secretAccessKey, auth.date, auth.region, auth.service))
    .update(stringToSign, 'utf8')
    .digest('hex');
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature))) {
    return {
      ok: false,
      reason: 'badSignature',
      message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    };
  }
  return { ok: true, accessKeyId: auth.accessKeyId };
}
