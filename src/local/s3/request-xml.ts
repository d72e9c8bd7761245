/**
 * The XML request bodies S3 clients send here (DeleteObjects, CompleteMultipartUpload), read with fast-xml-parser:
 * linear in the body's size, with the body capped before parsing. A body S3 would refuse is a 400, never a 500.
 */
import type * as http from 'http';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { S3Error, malformedXml } from './errors';

/**
 * The cap on such bodies: well above what DeleteObjects' 1000 keys (of at most 1024 bytes each) or
 * CompleteMultipartUpload's 10,000 parts take, so only junk is refused.
 */
export const MAX_XML_BODY_BYTES = 4 * 1024 * 1024;
/** At most 1000 keys per DeleteObjects request (S3 API reference). */
export const MAX_DELETE_KEYS = 1000;

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Object' || name === 'Part',
});

/** Reads an XML body up to the cap: over it, S3's MaxMessageLengthExceeded (the connection is then closed). */
export async function readXmlBody(req: http.IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_XML_BODY_BYTES) throw tooLong();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_XML_BODY_BYTES) throw tooLong();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLong(): S3Error {
  return new S3Error(400, 'MaxMessageLengthExceeded', `Your request was too big (at most ${MAX_XML_BODY_BYTES} bytes of XML).`);
}

/** Character references XML allows: none beyond U+10FFFF, no surrogates, no NUL (XML 1.0, Char production). */
function checkCharacterReferences(xml: string): void {
  for (const m of xml.matchAll(/&#(x[0-9a-fA-F]+|[0-9]+);/g)) {
    const code = m[1].startsWith('x') ? parseInt(m[1].slice(1), 16) : parseInt(m[1], 10);
    const allowed =
      code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed) throw malformedXml(`character reference ${m[0].slice(0, 20)} is not a legal XML character`);
  }
}

function parse(xml: string, root: string): Record<string, unknown> {
  checkCharacterReferences(xml);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw malformedXml(valid.err.msg.slice(0, 200));
  const doc = parser.parse(xml) as Record<string, unknown>;
  const body = doc[root];
  if (typeof body !== 'object' || body === null) throw malformedXml(`the root element must be <${root}>`);
  return body as Record<string, unknown>;
}

function textOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `<Delete><Quiet>?<Object><Key>..</Key></Object>...</Delete>` */
export function parseDelete(xml: string): { quiet: boolean; keys: string[] } {
  const body = parse(xml, 'Delete');
  const objects = (body.Object as unknown[] | undefined) ?? [];
  const keys = objects.map((o) => textOf((o as Record<string, unknown> | undefined)?.Key));
  if (keys.length === 0 || keys.some((k) => k === undefined || k === '')) throw malformedXml();
  if (keys.length > MAX_DELETE_KEYS) throw malformedXml(`at most ${MAX_DELETE_KEYS} keys per request`);
  return { quiet: textOf(body.Quiet)?.trim() === 'true', keys: keys as string[] };
}

/** `<CompleteMultipartUpload><Part><PartNumber>n</PartNumber><ETag>..</ETag></Part>...</CompleteMultipartUpload>` */
export function parseCompleteMultipartUpload(xml: string): Array<{ number: number; etag: string }> {
  const body = parse(xml, 'CompleteMultipartUpload');
  const parts = ((body.Part as unknown[] | undefined) ?? []).map((p) => {
    const part = (p ?? {}) as Record<string, unknown>;
    return { number: Number(textOf(part.PartNumber)?.trim()), etag: textOf(part.ETag)?.trim() ?? '' };
  });
  if (parts.length === 0 || parts.some((p) => !Number.isInteger(p.number))) throw malformedXml();
  return parts;
}
