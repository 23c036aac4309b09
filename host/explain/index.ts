/**
 * `vipwasm explain` (issue 13): why a connection went where it went, traced from the engine's real
 * state. Shared by the CLI (host/cli/commands/explain.ts) and the playground (host/browser).
 */
export { explainConnect } from './explain.js';
export { explainSequence, type ExplainRequest } from './sequence.js';
export { formatTrace, formatTraces } from './format.js';
export { ExplainMismatchError, type ExplainConnection, type ExplainStep, type ExplainTrace } from './trace.js';
