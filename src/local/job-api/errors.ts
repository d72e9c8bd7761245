/** How the emulator refuses a request: AWS JSON 1.1 errors, injected faults and dropped connections. */
import type { JobApiFault } from './types';
import type { SigV4Refusal } from '../internal/sigv4';

/** An AWS JSON 1.1 error, as `{"__type": code, "message": ...}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}


export const SIGNATURE_ERRORS: Record<SigV4Refusal, string> = {
  missing: 'MissingAuthenticationTokenException',
  malformed: 'IncompleteSignatureException',
  unknownKey: 'UnrecognizedClientException',
  badToken: 'UnrecognizedClientException',
  badSignature: 'InvalidSignatureException',
  // AWS JSON services answer a stale signature with InvalidSignatureException ("Signature expired: ...").
  skewed: 'InvalidSignatureException',
  expired: 'InvalidSignatureException',
};

/** Thrown to drop the connection without an answer. */
export class ConnectionReset extends Error {}

export function throwFault(fault: JobApiFault): never {
  if (fault.reset === true) throw new ConnectionReset('injected connection reset');
  const status = fault.status ?? (fault.type === undefined || fault.type === 'ThrottlingException' ? 400 : 500);
  const type = fault.type ?? (status === 400 ? 'ThrottlingException' : status === 503 ? 'ServiceUnavailableException' : 'InternalFailure');
  throw new ApiError(type, fault.message ?? (type === 'ThrottlingException' ? 'Rate exceeded' : 'Injected fault: the service failed to handle the request'), status);
}
