/**
 * The minimal handler whose bundle size is measured: read one file of the input artifact, write one file to the
 * output artifact, succeed. What a user's smallest real handler looks like.
 */
import { jobHandler } from '../../src/runtime';

export const handler = jobHandler({}, async (job) => {
  const config = await job.inputArtifact().readFile('app.json');
  await job.outputArtifact().uploadFiles({ 'result.json': config });
  return { summary: 'copied app.json' };
});
