/** Cold import of the two SDK clients alone (the baseline of runtimeImportOverheadMs). */
import { performance } from 'perf_hooks';
import { reportToParent } from '../lib/child';

const started = performance.now();
require('@aws-sdk/client-s3');
require('@aws-sdk/client-codepipeline');
reportToParent({ importMs: performance.now() - started });
