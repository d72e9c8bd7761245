/**
 * A minimal AWS STS on 127.0.0.1: `AssumeRole` only, in STS's query protocol (a form-encoded POST, an XML answer),
 * enough for the unmodified `@aws-sdk/client-sts` (through `AWS_ENDPOINT_URL_STS`), boto3 and the aws CLI.
 *
 * It plays both sides of a cross-account assume: callers are known by their credentials (SigV4 verified) and their
 * principal (a role ARN, what `aws:PrincipalArn` is for a role session); a role may be assumed only by the principals
 * its trust names. Refusals are STS's: `InvalidClientTokenId`, `SignatureDoesNotMatch`, `AccessDenied`,
 * `ValidationError`, `InvalidAction`. Issued credentials are handed to `onIssue`, so that another local server (the
 * job-API emulator) accepts them as the role's.
 */
import * as crypto from 'crypto';
import * as http from 'http';
import { closeServer, listen, newRequestId, readSmallBody, type ListenOptions } from './internal/http';
import { sha256Hex, verifySigV4, type LocalCredentials, type SigV4Refusal } from './internal/sigv4';
import { element, escapeXml } from './internal/xml';

/** Someone who may call STS: credentials and the principal they stand for. */
export interface StsCaller {
  readonly credentials: LocalCredentials;
  /** The caller's principal ARN, e.g. the function's execution role `arn:aws:iam::222222222222:role/fn-role`. */
  readonly principalArn: string;
}

/** A role that can be assumed, and by whom (its trust policy, reduced to the principal ARNs it names). */
export interface StsRole {
  readonly roleArn: string;
  readonly trustedPrincipalArns: readonly string[];
}

/** Credentials the server issued for a role. */
export interface IssuedCredentials {
  readonly roleArn: string;
  /** `arn:aws:sts::<account>:assumed-role/<role name>/<session name>` */
  readonly assumedRoleArn: string;
  readonly callerPrincipalArn: string;
  readonly credentials: Required<LocalCredentials>;
  readonly expiration: Date;
}

export interface LocalStsServerOptions extends ListenOptions {
  readonly callers: readonly StsCaller[];
  readonly roles: readonly StsRole[];
  /** Called with each issued set of credentials, before the answer is sent. */
  readonly onIssue?: (issued: IssuedCredentials) => void;
}

/** Every AssumeRole request received, accepted or not, for assertions. */
export interface StsRequestRecord {
  readonly action?: string;
  readonly roleArn?: string;
  readonly roleSessionName?: string;
  readonly accessKeyId?: string;
  readonly status: number;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const STS_VERSION = '2011-06-15';
const MAX_REQUEST_BYTES = 64 * 1024;
/** AssumeRole's limits (STS API reference): DurationSeconds 900..43200, default 3600; RoleSessionName 2..64 of [\w+=,.@-]. */
const DEFAULT_DURATION_SECONDS = 3600;
const MIN_DURATION_SECONDS = 900;
const MAX_DURATION_SECONDS = 43_200;
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;

const SIGNATURE_ERRORS: Record<SigV4Refusal, { code: string; status: number }> = {
  missing: { code: 'MissingAuthenticationToken', status: 403 },
  malformed: { code: 'IncompleteSignature', status: 400 },
  unknownKey: { code: 'InvalidClientTokenId', status: 403 },
  badToken: { code: 'InvalidClientTokenId', status: 403 },
  badSignature: { code: 'SignatureDoesNotMatch', status: 403 },
  // STS answers a request signed too far from its clock, or a presigned one past its expiry, as a signature mismatch.
  skewed: { code: 'SignatureDoesNotMatch', status: 403 },
  expired: { code: 'SignatureDoesNotMatch', status: 403 },
};

class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class LocalStsServer {
  /** Starts the server on 127.0.0.1 (a free port unless `port` is given). */
  static async start(options: LocalStsServerOptions): Promise<LocalStsServer> {
    const server = new LocalStsServer(options);
    server._endpoint = await listen(server.server, options);
    return server;
  }

  private readonly server: http.Server;
  private readonly callers = new Map<string, StsCaller>();
  private readonly roles = new Map<string, StsRole>();
  private readonly issuedList: IssuedCredentials[] = [];
  private readonly log: StsRequestRecord[] = [];
  private _endpoint = '';

  private constructor(private readonly options: LocalStsServerOptions) {
    for (const caller of options.callers) this.callers.set(caller.credentials.accessKeyId, caller);
    for (const role of options.roles) this.roles.set(role.roleArn, role);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendError(res, new StsError('InternalFailure', String(err), 500));
      });
    });
  }

  /** `http://127.0.0.1:PORT`: give it to the SDK as `AWS_ENDPOINT_URL_STS` (or `endpoint`). */
  get endpoint(): string {
    return this._endpoint;
  }

  /** Every set of credentials issued so far, oldest first. */
  get issued(): readonly IssuedCredentials[] {
    return this.issuedList;
  }

  /** Every request received so far, oldest first. */
  get requests(): readonly StsRequestRecord[] {
    return this.log;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const entry: { -readonly [K in keyof StsRequestRecord]: StsRequestRecord[K] } = { status: 200 };
    this.log.push(entry);
    try {
      const raw = await readSmallBody(req, MAX_REQUEST_BYTES);
      const signature = verifySigV4(req, sha256Hex(raw), (id) => this.callers.get(id)?.credentials ?? this.issuedCredentials(id));
      if (!signature.ok) {
        const { code, status } = SIGNATURE_ERRORS[signature.reason];
        throw new StsError(code, signature.message, status);
      }
      entry.accessKeyId = signature.accessKeyId;
      const url = new URL(req.url ?? '/', 'http://localhost');
      // The query protocol sends its parameters in the form body; a GET puts them in the query string.
      const params = new URLSearchParams(req.method === 'POST' ? raw.toString('utf8') : url.search);
      entry.action = params.get('Action') ?? undefined;
      entry.roleArn = params.get('RoleArn') ?? undefined;
      entry.roleSessionName = params.get('RoleSessionName') ?? undefined;
      if (entry.action !== 'AssumeRole') {
        throw new StsError('InvalidAction', `Could not find operation ${entry.action ?? '(none)'} for version ${params.get('Version') ?? '(none)'}`);
      }
      if (params.get('Version') !== STS_VERSION) {
        throw new StsError('InvalidParameterValue', `Version must be ${STS_VERSION}, got ${params.get('Version') ?? '(none)'}`);
      }
      const caller = this.callerOf(signature.accessKeyId);
      const issued = this.assumeRole(caller, params);
      this.issuedList.push(issued);
      this.options.onIssue?.(issued);
      sendXml(res, 200, assumeRoleResponse(issued));
    } catch (err) {
      const error = err instanceof StsError ? err : new StsError('InternalFailure', String(err), 500);
      entry.status = error.status;
      entry.errorCode = error.code;
      entry.errorMessage = error.message;
      sendError(res, error);
    }
  }

  private callerOf(accessKeyId: string | undefined): string {
    const caller = accessKeyId === undefined ? undefined : this.callers.get(accessKeyId);
    if (caller !== undefined) return caller.principalArn;
    // Role chaining: a session of an issued role calls again with its own credentials.
    const issued = this.issuedList.find((i) => i.credentials.accessKeyId === accessKeyId);
    if (issued !== undefined) return issued.roleArn;
    throw new StsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  }

  private issuedCredentials(accessKeyId: string): LocalCredentials | undefined {
    return this.issuedList.find((i) => i.credentials.accessKeyId === accessKeyId)?.credentials;
  }

  private assumeRole(callerArn: string, params: URLSearchParams): IssuedCredentials {
    const roleArn = params.get('RoleArn');
    const sessionName = params.get('RoleSessionName');
    const violations: string[] = [];
    if (roleArn === null || roleArn.length < 20 || roleArn.length > 2048) {
      violations.push(`Value '${roleArn ?? 'null'}' at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048`);
    }
    if (sessionName === null || !SESSION_NAME_PATTERN.test(sessionName)) {
      violations.push(
        `Value '${sessionName ?? 'null'}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* ` +
          'and have length between 2 and 64',
      );
    }
    const durationText = params.get('DurationSeconds');
    const duration = durationText === null ? DEFAULT_DURATION_SECONDS : Number(durationText);
    if (!Number.isInteger(duration) || duration < MIN_DURATION_SECONDS || duration > MAX_DURATION_SECONDS) {
      violations.push(`Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
    }
    if (violations.length > 0) {
      throw new StsError('ValidationError', `${violations.length} validation error${violations.length === 1 ? '' : 's'} detected: ${violations.join('; ')}`);
    }
    const match = ROLE_ARN_PATTERN.exec(roleArn!);
    const role = this.roles.get(roleArn!);
    if (match === null || role === undefined || !role.trustedPrincipalArns.includes(callerArn)) {
      throw new StsError('AccessDenied', `User: ${callerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    }
    const [, account, roleName] = match;
    return {
      roleArn: roleArn!,
      assumedRoleArn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
      callerPrincipalArn: callerArn,
      credentials: {
        accessKeyId: `ASIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`,
        secretAccessKey: crypto.randomBytes(30).toString('base64'),
        sessionToken: crypto.randomBytes(64).toString('base64'),
      },
      expiration: new Date(Math.floor(Date.now() / 1000 + duration) * 1000),
    };
  }
}

function assumeRoleResponse(issued: IssuedCredentials): string {
  const roleId = `AROA${sha256Hex(issued.roleArn).slice(0, 17).toUpperCase()}`;
  const sessionName = issued.assumedRoleArn.split('/').pop();
  return (
    `<AssumeRoleResponse xmlns="${STS_NAMESPACE}"><AssumeRoleResult>` +
    `<AssumedRoleUser>${element('AssumedRoleId', `${roleId}:${sessionName}`)}${element('Arn', issued.assumedRoleArn)}</AssumedRoleUser>` +
    `<Credentials>${element('AccessKeyId', issued.credentials.accessKeyId)}${element('SecretAccessKey', issued.credentials.secretAccessKey)}` +
    `${element('SessionToken', issued.credentials.sessionToken)}${element('Expiration', issued.expiration.toISOString())}</Credentials>` +
    `</AssumeRoleResult><ResponseMetadata>${element('RequestId', newRequestId())}</ResponseMetadata></AssumeRoleResponse>`
  );
}

function sendError(res: http.ServerResponse, error: StsError): void {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  sendXml(
    res,
    error.status,
    `<ErrorResponse xmlns="${STS_NAMESPACE}"><Error>${element('Type', type)}${element('Code', error.code)}` +
      `<Message>${escapeXml(error.message)}</Message></Error>${element('RequestId', newRequestId())}</ErrorResponse>`,
  );
}

function sendXml(res: http.ServerResponse, status: number, body: string): void {
  const payload = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, 'utf8');
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': String(payload.length), 'x-amzn-requestid': newRequestId() });
  res.end(payload);
}
