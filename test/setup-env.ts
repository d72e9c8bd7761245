// Keep every temporary folder (cdk.out of `new App()`, extracted artifacts) inside the project, not in /tmp.
import * as fs from 'fs';
import * as path from 'path';

const tmp = path.join(__dirname, '..', 'tmp', 'jest');
fs.mkdirSync(tmp, { recursive: true });
process.env.TMPDIR = tmp;
process.env.JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION = '20';
process.env.AWS_NODEJS_CONNECTION_REUSE_ENABLED = '1';
