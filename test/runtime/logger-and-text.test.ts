import { createJsonLogger, Logger, redactForLog, withAttributes } from '../../src/runtime/logger';
import { truncateWithMarker } from '../../src/runtime/text';
import { parseJobEvent } from '../../src/shared/event';

function capture(level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR'): { logger: Logger; lines: () => any[] } {
  const raw: string[] = [];
  const logger = createJsonLogger({ level, write: (line) => raw.push(line) });
  return { logger, lines: () => raw.map((l) => JSON.parse(l)) };
}

const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const rawEvent = {
  'CodePipeline.job': {
    id: '11111111-abcd-1111-abcd-111111abcdef',
    accountId: '111111111111',
    data: {
      actionConfiguration: { configuration: { FunctionName: 'f' } },
      inputArtifacts: [],
      outputArtifacts: [],
      artifactCredentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: secret, sessionToken: 'the-session-token' },
    },
  },
};

describe('createJsonLogger', () => {
  test('writes one JSON object per line with level, message, timestamp and attributes', () => {
    const raw: string[] = [];
    createJsonLogger({ write: (l) => raw.push(l) }).info('hello', { a: 1 });
    expect(raw).toHaveLength(1);
    expect(raw[0].endsWith('\n')).toBe(true);
    expect(raw[0].trim().includes('\n')).toBe(false);
    expect(JSON.parse(raw[0])).toEqual({ timestamp: expect.any(String), level: 'INFO', message: 'hello', a: 1 });
  });

  test('drops lines below the level', () => {
    const { logger, lines } = capture('WARN');
    logger.info('quiet');
    logger.warn('loud');
    expect(lines().map((l) => l.message)).toEqual(['loud']);
  });

  test('never writes the secret of a raw event', () => {
    const { logger, lines } = capture();
    logger.info('event', { event: rawEvent });
    expect(JSON.stringify(lines())).not.toContain(secret);
    expect(JSON.stringify(lines())).not.toContain('the-session-token');
    expect(lines()[0].event['CodePipeline.job'].data.artifactCredentials.accessKeyId).toBe('AKIAIOSFODNN7EXAMPLE');
  });

  test('never writes the secret of a parsed event', () => {
    const { logger, lines } = capture();
    logger.info('event', { event: parseJobEvent(rawEvent) });
    expect(JSON.stringify(lines())).not.toContain(secret);
  });

  test('writes errors with name, message and stack', () => {
    const { logger, lines } = capture();
    logger.error('failed', { error: new RangeError('too far') });
    expect(lines()[0].error).toEqual(expect.objectContaining({ name: 'RangeError', message: 'too far', stack: expect.any(String) }));
  });

  test('writes a cyclic attribute with the cycle marked [circular]', () => {
    const { logger, lines } = capture();
    const cyclic: any = { name: 'loop' };
    cyclic.self = cyclic;
    logger.error('failed', { cyclic });
    expect(lines()[0].cyclic.self).toBe('[circular]');
  });
});

describe('withAttributes', () => {
  test('adds the correlation id to every call of a caller logger, as Powertools Logger expects (message, object)', () => {
    const calls: unknown[][] = [];
    const powertoolsLike: Logger = {
      debug: (...args) => calls.push(['debug', ...args]),
      info: (...args) => calls.push(['info', ...args]),
      warn: (...args) => calls.push(['warn', ...args]),
      error: (...args) => calls.push(['error', ...args]),
    };
    withAttributes(powertoolsLike, { correlationId: 'job-1' }).warn('careful', { step: 2 });
    expect(calls).toEqual([['warn', 'careful', { correlationId: 'job-1', step: 2 }]]);
  });

  test('redacts secrets before they reach a caller logger', () => {
    const calls: unknown[][] = [];
    const sink: Logger = { debug: () => {}, info: (...args) => calls.push(args), warn: () => {}, error: () => {} };
    withAttributes(sink, {}).info('event', { event: rawEvent });
    expect(JSON.stringify(calls)).not.toContain(secret);
  });
});

describe('redactForLog', () => {
  test('redacts SDK-style credential keys too', () => {
    expect(redactForLog({ credentials: { AccessKeyId: 'A', SecretAccessKey: 'S', SessionToken: 'T' } })).toEqual({
      credentials: { AccessKeyId: 'A', SecretAccessKey: '[redacted]', SessionToken: '[redacted]' },
    });
  });
});

describe('redactForLog: every credential spelling of the SDKs, Lambda and SigV4', () => {
  const env = {
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'env-secret',
    AWS_SESSION_TOKEN: 'env-token',
    AWS_SECURITY_TOKEN: 'old-token',
    AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token',
    aws_secret_access_key: 'ini-secret',
  };

  test('process.env-style keys are redacted, the access key id is kept', () => {
    const logged = JSON.stringify(redactForLog({ env }));
    for (const value of ['env-secret', 'env-token', 'old-token', 'container-token', 'ini-secret']) {
      expect(logged).not.toContain(value);
    }
    expect(logged).toContain('ASIAEXAMPLE');
  });

  test('header names are redacted whatever their case', () => {
    const headers = { 'x-amz-security-token': 'h-token', 'Authorization': 'AWS4-HMAC-SHA256 Credential=A/20260101/us-east-1/s3/aws4_request, Signature=abc', 'X-Amz-Signature': 'sig', 'Proxy-Authorization': 'Basic eA==' };
    const logged = JSON.stringify(redactForLog({ headers }));
    expect(logged).not.toMatch(/h-token|Signature=abc|"sig"|eA==/);
  });

  test('credentials inside text are redacted: presigned URLs and Authorization values', () => {
    const url = 'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&X-Amz-Security-Token=tok123&X-Amz-Signature=sig456';
    const logged = JSON.stringify(redactForLog({ url, note: 'header AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=deadbeef' }));
    expect(logged).not.toMatch(/tok123|sig456|AKIA%2F2026|deadbeef/);
    expect(logged).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256&');
  });

  test('a JSON logger given the whole environment prints none of its secrets', () => {
    const lines: string[] = [];
    createJsonLogger({ write: (line) => lines.push(line) }).info('env', { env });
    expect(lines.join('')).not.toMatch(/env-secret|env-token/);
  });

  test('a value whose toJSON throws is logged as a description, not thrown', () => {
    const lines: string[] = [];
    const hostile = { toJSON: () => { throw new Error('no'); } };
    expect(() => createJsonLogger({ write: (line) => lines.push(line) }).info('x', { hostile })).not.toThrow();
    expect(lines[0]).toContain('unserializable');
  });

  test('attributes whose getter throws still give a line', () => {
    const lines: string[] = [];
    const attributes = Object.defineProperty({}, 'bad', { enumerable: true, get: () => { throw new Error('getter'); } });
    createJsonLogger({ write: (line) => lines.push(line) }).warn('still here', attributes);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'WARN', message: 'still here' });
  });
});

describe('truncateWithMarker', () => {
  test('leaves a text within the limit unchanged', () => {
    expect(truncateWithMarker('short', 10)).toBe('short');
    expect(truncateWithMarker('x'.repeat(10), 10)).toBe('x'.repeat(10));
  });

  test('cuts a longer text to the limit and says how much was cut', () => {
    const cut = truncateWithMarker('a'.repeat(6000), 5000);
    expect(cut).toHaveLength(5000);
    const kept = cut.indexOf(' …[');
    expect(cut.endsWith(`…[${6000 - kept} characters cut]`)).toBe(true);
  });

  test('never leaves half of a surrogate pair', () => {
    const text = '😀'.repeat(100);
    for (let max = 30; max < 60; max++) {
      const cut = truncateWithMarker(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut)).toBe(false);
    }
  });
});

describe('Powertools for AWS Lambda Logger fits', () => {
  // The method signatures of @aws-lambda-powertools/logger's Logger (v2), reproduced: the package is the user's
  // dependency, not ours. The assignment below is checked by `tsc --noEmit -p tsconfig.dev.json`.
  type PtAttributes = { [key: string]: unknown };
  type PtMessage = string | (PtAttributes & { message: string });
  type PtExtra = [Error | string] | PtAttributes[];
  class PowertoolsShapedLogger {
    public readonly lines: unknown[][] = [];
    debug(input: PtMessage, ...extra: PtExtra): void {
      this.lines.push(['DEBUG', input, ...extra]);
    }
    info(input: PtMessage, ...extra: PtExtra): void {
      this.lines.push(['INFO', input, ...extra]);
    }
    warn(input: PtMessage, ...extra: PtExtra): void {
      this.lines.push(['WARN', input, ...extra]);
    }
    error(input: PtMessage, ...extra: PtExtra): void {
      this.lines.push(['ERROR', input, ...extra]);
    }
  }

  test('a Powertools-shaped logger is a Logger and receives the correlation id', () => {
    const powertools = new PowertoolsShapedLogger();
    const logger: Logger = powertools;
    withAttributes(logger, { correlationId: 'job-9' }).info('hello', { step: 1 });
    expect(powertools.lines).toEqual([['INFO', 'hello', { correlationId: 'job-9', step: 1 }]]);
  });
});
