/**
 * Writes release notes from the source's package.json and CHANGELOG.md into an output artifact, and returns the
 * version as an output variable. A later ShellStep consumes both.
 */
// In your app: import { jobHandler, JobFailedError } from 'cdk-codepipeline-invoke/runtime';
import { jobHandler, JobFailedError } from '../../src/runtime';
import { ReleaseNotesParameters, releaseNotesSchema } from './schemas';

export const handler = jobHandler<ReleaseNotesParameters>({ schema: releaseNotesSchema }, async (job) => {
  const source = job.inputArtifact();
  const pkg = JSON.parse(await source.readFile('package.json', 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') {
    throw new JobFailedError('package.json has no "version"', 'JobFailed');
  }
  const changelog = await source.readFile('CHANGELOG.md', 'utf8').catch(() => '(no CHANGELOG.md)');
  const notes = `# ${job.userParameters.product} ${pkg.version}\n\n${changelog}\n`;
  await job.outputArtifact().uploadFiles({ 'release-notes.md': notes });
  return { outputVariables: { version: pkg.version }, summary: `release notes of ${pkg.version}` };
});
