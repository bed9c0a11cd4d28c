// Vitest settings for mutation runs (stryker.config.mjs): the project's, except that the test
// runner's own process carries the V8 flags (Stryker runs Vitest in worker threads, which refuse
// V8 flags in execArgv).
import base from '../vite.config.ts';

export default { ...base, test: { ...base.test, execArgv: [] } };
