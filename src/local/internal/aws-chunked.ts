import { Transform, type TransformCallback } from 'stream';

/** Malformed aws-chunked framing; S3 answers such a body with 400 IncompleteBody / InvalidRequest. */
export class AwsChunkedError extends Error {}

/** A chunk-size line or trailer line longer than this is not aws-chunked framing. */
const MAX_LINE_LENGTH = 8192;

type State = 'size' | 'data' | 'dataEnd' | 'trailer' | 'done';

/**
 * Decodes an `aws-chunked` request body (S3 "streaming" uploads) into the object's bytes, as they stream.
 *
 * Framing: `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n` ... `0[;chunk-signature=..]\r\n` then trailing
 * headers (`x-amz-checksum-crc32:<base64>\r\n`, optionally `x-amz-trailer-signature:..\r\n`) and `\r\n`.
 * The AWS SDK v3 sends this for every streamed body of unknown checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER);
 * s3rver stores the framing itself, which is why we decode it ourselves. Chunk signatures are not verified.
 */
export class AwsChunkedDecoder extends Transform {
  /** Trailing headers, lower-cased names, available once the stream has ended. */
  readonly trailers = new Map<string, string>();
  private state: State = 'size';
  private line = '';
  private remaining = 0;

  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  _flush(callback: TransformCallback): void {
    // Some clients end right after the trailers without the final empty line.
    if (this.state === 'done' || (this.state === 'trailer' && this.line === '')) callback();
    else callback(new AwsChunkedError(`aws-chunked body ended early (while reading ${this.state})`));
  }

  private consume(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - i);
          this.push(chunk.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'dataEnd';
          break;
        }
        case 'dataEnd':
        case 'size':
        case 'trailer': {
          const nl = chunk.indexOf(0x0a, i);
          const end = nl < 0 ? chunk.length : nl + 1;
          this.line += chunk.toString('latin1', i, end);
          i = end;
          if (this.line.length > MAX_LINE_LENGTH) throw new AwsChunkedError('aws-chunked framing line too long');
          if (nl >= 0) this.endLine(this.line.replace(/\r?\n$/, ''));
          break;
        }
        case 'done':
          // Bytes after the final empty line are not part of the body; ignore whitespace, refuse anything else.
          if (chunk.subarray(i).toString('latin1').trim() !== '') throw new AwsChunkedError('data after the end of the aws-chunked body');
          return;
      }
    }
  }

  private endLine(line: string): void {
    this.line = '';
    switch (this.state) {
      case 'dataEnd':
        if (line !== '') throw new AwsChunkedError('aws-chunked chunk is longer than its declared size');
        this.state = 'size';
        return;
      case 'size': {
        const sizeText = line.split(';')[0].trim();
        if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new AwsChunkedError(`invalid aws-chunked chunk size line: ${JSON.stringify(line.slice(0, 80))}`);
        this.remaining = parseInt(sizeText, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'trailer': {
        if (line === '') {
          this.state = 'done';
          return;
        }
        const colon = line.indexOf(':');
        if (colon <= 0) throw new AwsChunkedError(`invalid aws-chunked trailer line: ${JSON.stringify(line.slice(0, 80))}`);
        this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
        return;
      }
      default:
        return;
    }
  }
}
