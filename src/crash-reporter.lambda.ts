// The crash reporter's Lambda entry point: projen bundles it with esbuild into assets/crash-reporter.lambda/index.js
// (see crash-reporter-function.ts). The logic lives in the runtime, where it is unit- and wire-tested.
export { handler } from './runtime/crash-reporter';
