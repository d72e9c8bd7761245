import type * as http from 'http';
import { newRequestId } from '../internal/http';

export function send(res: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'x-amz-request-id': newRequestId(), ...headers, 'content-length': '0' });
  res.end();
}

export function sendXml(res: http.ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(xml, 'utf8');
  res.writeHead(status, { 'x-amz-request-id': newRequestId(), ...headers, 'content-type': 'application/xml', 'content-length': String(body.length) });
  res.end(body);
}
