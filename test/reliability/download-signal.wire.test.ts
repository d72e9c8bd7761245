/**
 * Artifact transfers that stall, and the ArtifactContext members a deadline watchdog uses, through the S3 fault proxy
 * in front of the embedded S3 server: a silent connection counts as broken and is resumed; the signal stops a stalled
 * download, Range read or upload with its reason (and nothing is retried after it); the activity hook sees every
 * operation start and end.
 */
import { randomBytes } from 'crypto';
import { BUCKET, transferHarness, waitFor } from './download-harness';
import { Tally } from './tally';
import { ArtifactTransferError } from '../../src/runtime/errors';
import { getObjectStream } from '../../src/runtime/s3/download';
import { startEmbeddedS3 } from '../support/servers';
import { craftZip } from '../support/zip-forge';

const tally = new Tally('download-signal');
afterAll(() => tally.flush());

const sourceZip = craftZip([
  { name: 'app.json', data: Buffer.from('{"name":"demo"}') },
  { name: 'data.bin', data: randomBytes(400_000), store: true },
]);

describe('transfers through the fault proxy in front of the embedded S3', () => {
  const h = transferHarness(() => startEmbeddedS3(), tally);

  describe('a download that stalls (a stall timeout of 200 ms here; 30 s by default)', () => {
    const STALL_MS = 200;
    const read = async (key: string, options: { readerPauseMs?: number } = {}) => {
      const chunks: Buffer[] = [];
      const stream = getObjectStream(h.once, { bucketName: BUCKET, objectKey: key }, { what: "input artifact 'Source'", stallTimeoutMs: STALL_MS });
      for await (const chunk of stream) {
        if (chunks.length === 0 && options.readerPauseMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.readerPauseMs));
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    };

    test('a body that goes silent midway is resumed on a new connection', async () => {
      const key = await h.put(sourceZip);
      const bytes = await h.withFaults([{ kind: 'stall', methods: ['GET'], afterBytes: 50_000 }], () => read(key));
      expect(bytes.equals(sourceZip)).toBe(true);
      expect(h.requestsFor(key).map((r) => r.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
    });

    test('a request never answered is made again', async () => {
      const key = await h.put(sourceZip);
      const bytes = await h.withFaults([{ kind: 'stall', methods: ['GET'] }], () => read(key));
      expect(bytes.equals(sourceZip)).toBe(true);
      expect(h.requestsFor(key)).toHaveLength(2);
    });

    test('a body going silent on every attempt fails after 5 attempts, saying so', async () => {
      const key = await h.put(sourceZip);
      const error = await h.withFaults([{ kind: 'stall', methods: ['GET'], afterBytes: 10_000, times: 5 }], () => read(key)).catch((e) => e);
      expect(error).toBeInstanceOf(ArtifactTransferError);
      expect(error.message).toMatch(/gave up after 5 attempts; \d+ of \d+ bytes received; last error: no data for 200 ms after \d+ bytes of the body/);
    });

    test('a reader slower than the stall timeout is not a stall', async () => {
      const big = randomBytes(2 * 1024 * 1024);
      const key = await h.put(big, 'pipeline/Big');
      tally.cases++;
      const bytes = await read(key, { readerPauseMs: 3 * STALL_MS });
      tally.successes++;
      expect(bytes.equals(big)).toBe(true);
      expect(h.requestsFor(key)).toHaveLength(1);
    });
  });

  describe('the signal', () => {
    test('stops a stalled download with its reason', async () => {
      const key = await h.put(sourceZip);
      const controller = new AbortController();
      const reason = new Error('the function is about to time out');
      const pending = h.withFaults([{ kind: 'stall', methods: ['GET'], afterBytes: 50_000 }], () => h.input(key, { signal: controller.signal }).extractTo()).catch(
        (e) => e,
      );
      await waitFor(() => h.requestsFor(key).length > 0);
      controller.abort(reason);
      expect(await pending).toBe(reason);
      expect(h.requestsFor(key)).toHaveLength(1); // no retry after the abort
    });

    test('a reason that is not an Error becomes "aborted: <reason>"', async () => {
      const key = await h.put(sourceZip);
      const controller = new AbortController();
      const pending = h.withFaults([{ kind: 'stall', methods: ['GET'] }], () => h.input(key, { signal: controller.signal }).downloadZip()).catch((e) => e);
      await waitFor(() => h.requestsFor(key).length > 0);
      controller.abort('deadline');
      const error = await pending;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe('aborted: deadline');
    });

    test('stops a stalled ranged read of readFile with its reason, not calling the zip corrupt', async () => {
      const key = await h.put(sourceZip);
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = h.withFaults([{ kind: 'stall', methods: ['GET'], ranged: true }], () => h.input(key, { signal: controller.signal }).readFile('app.json')).catch(
        (e) => e,
      );
      await waitFor(() => h.requestsFor(key).length > 0);
      controller.abort(reason);
      expect(await pending).toBe(reason);
    });

    test('already fired: nothing is requested', async () => {
      const key = await h.put(sourceZip);
      const reason = new Error('too late');
      tally.cases++;
      await expect(h.input(key, { signal: AbortSignal.abort(reason) }).extractTo()).rejects.toBe(reason);
      await expect(h.input(key, { signal: AbortSignal.abort(reason) }).readFile('app.json')).rejects.toBe(reason);
      tally.failuresReportedCorrectly++;
      expect(h.requestsFor(key, 'GET')).toHaveLength(0);
      expect(h.requestsFor(key, 'HEAD')).toHaveLength(0);
    });

    test('stops an upload whose request stalls, and no output object appears', async () => {
      const key = h.newKey('pipeline/Out');
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = h.withFaults([{ kind: 'stall', methods: ['PUT'] }], () =>
        h.output(key, { signal: controller.signal }).uploadFiles({ 'a.txt': 'hello' }),
      ).catch((e) => e);
      await waitFor(() => h.requestsFor(key, 'PUT').length > 0);
      controller.abort(reason);
      expect(await pending).toBe(reason);
      expect(await h.exists(key)).toBe(false);
    });

    test('stops a multipart upload whose part stalls; the multipart upload is aborted and no output object appears', async () => {
      const key = h.newKey('pipeline/Out');
      const controller = new AbortController();
      const reason = new Error('deadline');
      const pending = h.withFaults([{ kind: 'stall', methods: ['PUT'], path: /partNumber=2/ }], () =>
        h.output(key, { signal: controller.signal }).uploadFiles({ 'big.bin': randomBytes(12 * 1024 * 1024) }),
      ).catch((e) => e);
      await waitFor(() => h.requestsFor(key, 'PUT').some((r) => r.fault === 'stall'));
      controller.abort(reason);
      expect(await pending).toBe(reason);
      // lib-storage cleans up after an abort: AbortMultipartUpload is the one request sent without the signal.
      await waitFor(() => h.requestsFor(key, 'DELETE').length > 0);
      expect(await h.exists(key)).toBe(false);
    });
  });

  describe('the activity hook', () => {
    function recorder() {
      const log: string[] = [];
      const activity = (description: string) => {
        log.push(`start ${description}`);
        return () => void log.push(`end ${description}`);
      };
      return { log, activity };
    }

    test('sees each operation start and end, described with the artifact', async () => {
      const key = await h.put(sourceZip);
      const outKey = h.newKey('pipeline/Out');
      const { log, activity } = recorder();
      tally.cases++;
      const dir = await h.input(key, { activity }).extractTo();
      await h.input(key, { activity }).readFile('app.json');
      await h.output(outKey, { activity }).uploadFiles({ 'a.txt': 'hello' });
      tally.successes++;
      const download = `downloading input artifact 'Source' (s3://${BUCKET}/${key})`;
      const extract = `extracting input artifact 'Source' into ${dir}`;
      const read = "reading 'app.json' from input artifact 'Source'";
      const upload = `uploading output artifact 'Out' (s3://${BUCKET}/${outKey})`;
      expect(log).toEqual([
        `start ${download}`,
        `end ${download}`,
        `start ${extract}`,
        `end ${extract}`,
        `start ${read}`,
        `end ${read}`,
        `start ${upload}`,
        `end ${upload}`,
      ]);
    });

    test('sees a failing operation end too', async () => {
      const key = await h.put(sourceZip);
      const { log, activity } = recorder();
      await h.withFaults([{ kind: 'reset', methods: ['GET'], afterBytes: 0 }], () =>
        h.input(key, { activity, remainingTimeMs: () => 0 }).downloadZip(),
      ).catch(() => undefined);
      const download = `downloading input artifact 'Source' (s3://${BUCKET}/${key})`;
      expect(log).toEqual([`start ${download}`, `end ${download}`]);
    });
  });
});
