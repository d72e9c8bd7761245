/** Cold import of the runtime, as bundled for Lambda (`node import-runtime-child.js <runtime.js>`). */
import * as path from 'path';
import { performance } from 'perf_hooks';
import { reportToParent } from '../lib/child';

const bundle = path.resolve(process.argv[2]);
const started = performance.now();
const cpuStarted = process.cpuUsage();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the synchronous require is what is timed
require(bundle);
const cpu = process.cpuUsage(cpuStarted);
reportToParent({ importMs: performance.now() - started, importCpuMs: (cpu.user + cpu.system) / 1000 });
