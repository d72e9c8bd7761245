/**
 * Continuation state: what a job hands from one invocation to the next through CodePipeline's continuation token
 * (1 to 2048 characters, API model `ContinuationToken`). The state travels inside the token as JSON, so nothing has
 * to be stored elsewhere, and it must fit.
 */
import { JobFailedError } from '../shared/errors';
import { CONTINUATION_TOKEN_MAX_LENGTH } from '../shared/limits';

/** Marks tokens written by this runtime (and the format version), so that foreign tokens are recognised. */
const TOKEN_PREFIX = 'cpi1:';

/** The largest JSON text of a state that fits into a token. */
export const CONTINUATION_STATE_MAX_LENGTH = CONTINUATION_TOKEN_MAX_LENGTH - TOKEN_PREFIX.length;

/** The token carrying `state`, or a JobFailedError saying why it cannot be one. */
export function encodeContinuation(state: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(state === undefined ? null : state);
  } catch (error) {
    throw new JobFailedError(`continueLater: the state is not JSON-serializable (${(error as Error).message})`);
  }
  if (json === undefined) {
    throw new JobFailedError('continueLater: the state is not JSON-serializable (a function or a symbol?)');
  }
  if (json.length > CONTINUATION_STATE_MAX_LENGTH) {
    throw new JobFailedError(
      `continueLater: the state is ${json.length} characters as JSON, but at most ${CONTINUATION_STATE_MAX_LENGTH} fit into ` +
        `CodePipeline's continuation token (${CONTINUATION_TOKEN_MAX_LENGTH} characters). Keep ids in the state and the data elsewhere (e.g. S3).`,
    );
  }
  return `${TOKEN_PREFIX}${json}`;
}

/** What a continuation token holds. */
export type DecodedContinuation =
  | { readonly kind: 'none' }
  | { readonly kind: 'state'; readonly state: unknown }
  /** A token this runtime did not write (e.g. the job was started by another handler version): given as it is. */
  | { readonly kind: 'foreign'; readonly token: string };

export function decodeContinuation(token: string | undefined): DecodedContinuation {
  if (token === undefined) return { kind: 'none' };
  if (!token.startsWith(TOKEN_PREFIX)) return { kind: 'foreign', token };
  try {
    return { kind: 'state', state: JSON.parse(token.slice(TOKEN_PREFIX.length)) };
  } catch {
    throw new JobFailedError('The continuation token of this job is corrupt: its state is not valid JSON');
  }
}
