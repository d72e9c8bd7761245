/** Cold import of the two SDK clients alone (the baseline of runtimeImportOverheadMs). */
import { performance } from 'perf_hooks';
import { reportToParent } from '../lib/child';

const started = performance.now();
const cpuStarted = process.cpuUsage();
/* eslint-disable @typescript-eslint/no-require-imports -- the synchronous requires are what is timed */
require('@aws-sdk/client-s3');
require('@aws-sdk/client-codepipeline');
/* eslint-enable @typescript-eslint/no-require-imports */
const cpu = process.cpuUsage(cpuStarted);
reportToParent({ importMs: performance.now() - started, importCpuMs: (cpu.user + cpu.system) / 1000 });
