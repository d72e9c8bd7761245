/**
 * The release check: a Lambda invoke action that inspects the source artifact before a release goes on.
 *
 * First invocation: checks that the required files are there, then hands over to a second invocation with
 * `job.continueLater` (a long job reports progress this way at least every 20 minutes, for up to 24 hours).
 * Second invocation: reads the manifest, writes a report as the `Report` output artifact, and publishes the version as
 * the output variable `version` (read by later actions as `#{ReleaseCheck.version}`).
 */
// In your app: import { jobHandler, JobFailedError } from 'cdk-codepipeline-invoke/runtime';
import { jobHandler, JobFailedError } from '../../src/runtime';
import { ReleaseCheckParameters, releaseCheckSchema } from './schema';

/** What the first invocation hands to the second. */
interface CheckState {
  readonly fileCount: number;
}

export const handler = jobHandler<ReleaseCheckParameters, CheckState>({ schema: releaseCheckSchema }, async (job) => {
  const { environment, manifest, requiredFiles = [], executionId } = job.userParameters;
  const source = job.inputArtifact('Source');

  if (job.continuation === undefined) {
    const files = (await source.list()).filter((entry) => entry.kind === 'file').map((entry) => entry.path);
    const missing = [manifest, ...requiredFiles].filter((file) => !files.includes(file));
    if (missing.length > 0) {
      throw new JobFailedError(`the source artifact lacks ${missing.join(', ')}`, 'JobFailed');
    }
    return job.continueLater({ fileCount: files.length }, { summary: `${files.length} files present`, percentComplete: 50 });
  }

  const { version } = JSON.parse(await source.readFile(manifest, 'utf8')) as { version?: unknown };
  if (typeof version !== 'string' || version === '') {
    throw new JobFailedError(`${manifest} has no "version"`, 'ConfigurationError');
  }
  const report = { version, environment, executionId, fileCount: job.continuation.fileCount, checkedAt: new Date().toISOString() };
  await job.outputArtifact('Report').uploadFiles({ 'report.json': `${JSON.stringify(report, null, 2)}\n` });
  return { outputVariables: { version }, summary: `release ${version} checked for ${environment}` };
});
