/**
 * `vipwasm explain -f …|--kubeconfig … --to IP:PORT[/PROTO] [--from IP[:PORT]]… [--replay FILE]
 * [--node NAME] [--scheduler S] [-o json]`: one decision (or a sequence, state carried between
 * steps) traced end to end through the real engine (host/explain): the key that matched, source
 * ranges, traffic policy, why each endpoint is in or out, the flow or affinity entry that pinned
 * it, the scheduler's arithmetic, and the verdict. Exit codes as every verb: 2 bad input, 1 when
 * explain and the engine disagree (an internal error).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Address } from '../../engine/address.js';
import { loadEngine } from '../../engine/node.js';
import { clientAddress } from '../../browser/simulate.js';
import { type ExplainRequest, explainSequence, formatTraces } from '../../explain/index.js';
import { UsageError } from '../errors.js';
import { reportDiagnostics } from '../report-diagnostics.js';
import { type SourceFlags, addSourceOptions, loadModelOnce, resolveSourceOptions } from '../source-options.js';
import { type Client, type Target, makeClients, parseTarget } from './simulate.js';

/** Simulated time as `simulate` keeps it: the first connection at T0, then one per millisecond. */
const T0_MS = 1_000_000;
const EPHEMERAL_FIRST = 32768;

interface ReplayStep {
  readonly client: Client;
  readonly atMs?: number;
  readonly close?: boolean;
}

/** `--replay FILE`: a JSON array of {"from": "ip[:port]", "atMs"?: number, "close"?: boolean}. */
function readReplay(path: string): ReplayStep[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`--replay ${path}: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new UsageError(`--replay ${path}: want a non-empty JSON array of {"from": "ip[:port]", "atMs"?: number, "close"?: boolean}`);
  return parsed.map((item: unknown, i) => {
    const at = `--replay ${path}: [${i}]`;
    if (typeof item !== 'object' || item === null) throw new UsageError(`${at}: want an object with "from"`);
    const { from, atMs, close } = item as Record<string, unknown>;
    if (typeof from !== 'string') throw new UsageError(`${at}.from: want "ip[:port]", got ${JSON.stringify(from)}`);
    if (atMs !== undefined && (typeof atMs !== 'number' || !Number.isInteger(atMs) || atMs < 0)) throw new UsageError(`${at}.atMs: want a whole number of milliseconds, got ${JSON.stringify(atMs)}`);
    if (close !== undefined && typeof close !== 'boolean') throw new UsageError(`${at}.close: want true or false, got ${JSON.stringify(close)}`);
    let client: Client;
    try {
      client = makeClients(from, 1)[0]!;
    } catch (e) {
      throw new UsageError(`${at}.from: ${(e as Error).message.replace(/^--from: /, '')}`);
    }
    return { client, ...(atMs !== undefined ? { atMs } : {}), ...(close !== undefined ? { close } : {}) };
  });
}

/** Connections to explain: each client's k-th connection without a fixed port uses 32768 + k. */
export function explainRequests(steps: readonly ReplayStep[], target: Target): ExplainRequest[] {
  const made = new Map<string, number>();
  let last = T0_MS - 1;
  return steps.map((s, i) => {
    const k = made.get(s.client.address.text) ?? 0;
    made.set(s.client.address.text, k + 1);
    const nowMs = s.atMs ?? Math.max(T0_MS + i, last + 1);
    if (nowMs < last) throw new UsageError(`--replay: [${i}].atMs: ${nowMs} is earlier than the step before (${last})`);
    last = nowMs;
    const src: Address = s.client.address;
    if (src.family !== target.address.family) throw new UsageError(`--from: ${src.text} is IPv${src.family}, --to ${target.address.text} is IPv${target.address.family}`);
    return { src, srcPort: s.client.port ?? EPHEMERAL_FIRST + k, dst: target.address, dstPort: target.port, protocol: target.protocol, nowMs, ...(s.close ? { close: true } : {}) };
  });
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

type ExplainFlags = SourceFlags & { to: string; from?: string[]; replay?: string; node?: string; output?: string };

export function register(program: Command): void {
  const cmd = program
    .command('explain')
    .description('trace one decision (or a sequence) through the engine: match, policy, endpoints, flow/affinity, scheduler arithmetic, verdict')
    .requiredOption('--to <ip:port[/proto]>', 'Service address (clusterIP, nodeIP:nodePort, external or LB IP), or namespace/name[:port]')
    .option('--from <ip[:port]>', 'client address (and source port); repeat for a sequence (default 198.18.0.1, or 2001:db8:c::1 for IPv6)', collect)
    .option('--replay <file>', 'JSON array of {"from": "ip[:port]", "atMs"?: n, "close"?: bool}: a sequence of connections')
    .option('--node <name>', "this node's name (same as --node-name): endpoints on it are local")
    .option('-o, --output <format>', 'json');
  addSourceOptions(cmd);
  cmd.action(async (flags: ExplainFlags) => {
    if (flags.output !== undefined && flags.output !== 'json') throw new UsageError(`--output: unsupported format "${flags.output}" (want json)`);
    if (flags.from !== undefined && flags.replay !== undefined) throw new UsageError('use either --from or --replay, not both');
    if (flags.node !== undefined && flags.nodeName !== undefined && flags.node !== flags.nodeName) throw new UsageError('--node and --node-name disagree');
    const settings = resolveSourceOptions({ ...flags, ...(flags.node !== undefined ? { nodeName: flags.node } : {}) }, { forceScheduler: true });
    const given = flags.replay !== undefined
      ? readReplay(flags.replay)
      : flags.from?.map((f) => ({ client: makeClients(f, 1)[0]! }));
    const { result, diagnostics } = await loadModelOnce(settings);
    const code = reportDiagnostics(diagnostics);
    const target = parseTarget(flags.to, result);
    // Without --from: one simulated client of the target's family, as simulate's first.
    const steps = given ?? [{ client: { address: clientAddress(0, target.address.family) } }];
    const requests = explainRequests(steps, target);
    const engine = await loadEngine({ seed: 1 });
    engine.load(result.model);
    const traces = explainSequence(engine, requests);
    process.stdout.write(flags.output === 'json' ? `${JSON.stringify({ traces }, null, 2)}\n` : formatTraces(traces));
    if (code) process.exitCode = code;
  });
}
