/**
 * The region and the made-up credentials of the tests that cross the wire, in a module of their own so that event
 * builders and unit tests can use them without loading the servers and the SDK clients of ./servers.
 */
export const REGION = 'us-east-1';

/** Credentials that sign requests but open nothing real. */
export const FAKE_CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

/** Temporary credentials as CodePipeline puts them in `artifactCredentials` (with a session token). */
export const FAKE_SESSION_CREDENTIALS = {
  accessKeyId: 'ASIAIOSFODNN7ARTIFACT',
  secretAccessKey: 'artifactSecretKey/K7MDENG/bPxRfiCYEXAMPLE',
  sessionToken: 'FwoGZXIvYXdzEBYaDLocalSessionTokenForTests',
};
