// An ES module handler (.mjs, or "type": "module"), with only what it uses: runtime/core's jobHandler carries the zip
// reader because of readArtifacts, and neither the zip writer nor the JSON Schema checker.
// In your app: import { jobHandler, readArtifacts } from 'cdk-codepipeline-invoke/runtime/core';
import { Params } from './params.js';
import { jobHandler, readArtifacts } from '../../../src/runtime/core.js';

export const handler = jobHandler({ schema: Params, use: [readArtifacts] }, async (job) => {
  const app = JSON.parse(await job.inputArtifact('Source').readFile('app.json', 'utf8'));
  return { outputVariables: { version: String(app.version) }, summary: `checked ${job.userParameters.url}` };
});
