/**
 * The minimal handler plus typed UserParameters validated against a JSON Schema: the same bundle with the schema
 * validator in it (reported beside the minimal figure).
 */
import { jobHandler } from '../../src/runtime';

interface Params {
  environment: 'dev' | 'prod';
  retries: number;
}

const schema = {
  type: 'object',
  properties: { environment: { enum: ['dev', 'prod'] }, retries: { type: 'integer', minimum: 0 } },
  required: ['environment', 'retries'],
  additionalProperties: false,
} as const;

export const handler = jobHandler<Params>({ schema }, async (job) => {
  const config = await job.inputArtifact().readFile('app.json');
  await job.outputArtifact().uploadFiles({ 'result.json': config });
  return { summary: `copied app.json for ${job.userParameters.environment}` };
});
