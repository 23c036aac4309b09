// Worker-thread entry for test/engine/shared-engine.test.ts: loads the TypeScript worker through
// tsx (a worker does not inherit vitest's transform, and `--import tsx` in execArgv is not honoured
// by every Node version we test).
import { tsImport } from 'tsx/esm/api';

await tsImport('./shared-worker.ts', import.meta.url);
