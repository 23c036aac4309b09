/**
 * The forwarder's command-line flags (shared by `vipwasm forward` and `vipwasm demo`) and their
 * validation into ForwarderOptions / EngineOptions. Bad values throw UsageError naming the flag.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import pino from 'pino';
import type { Logger } from 'pino';
import ipaddr from 'ipaddr.js';
import { UsageError } from './errors.js';
import type { EngineOptions } from '../engine/api.js';
import type { ForwarderOptions } from '../forwarder/forwarder.js';
import { parseBindAddress } from '../forwarder/health.js';
import { DEFAULT_VIP_INTERFACE } from '../forwarder/vip-interface.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Raw option values as commander hands them over. */
export interface ForwarderFlagValues {
  metricsBindAddress: string;
  healthzBindAddress: string;
  nodeportAddresses?: string[];
  bindVips?: string | boolean;
  connectTimeout: string;
  connectRetries: string;
  udpTimeout: string;
  udpMaxSessions: string;
  tcpIdleTimeout: string;
  ejectDuration: string;
  shutdownGrace: string;
  healthzTimeout: string;
  flowCapacity?: string;
  affinityCapacity?: string;
  workers?: string;
  logLevel: string;
}

/** Adds the forwarder flags to `cmd`. */
export function addForwarderFlags(cmd: Command, defaults: { metrics?: string; healthz?: string } = {}): Command {
  return cmd
    .option('--metrics-bind-address <host:port>', 'serve /metrics here ("off" to disable)', defaults.metrics ?? '127.0.0.1:10249')
    .option('--healthz-bind-address <host:port>', 'serve /healthz and /livez here ("off" to disable)', defaults.healthz ?? '127.0.0.1:10256')
    .option('--nodeport-addresses <cidr...>', 'serve NodePorts only on node IPs in these CIDRs (default: every node IP)')
    .option('--bind-vips [interface]', `put non-local Service IPs on a dummy interface (root; default name ${DEFAULT_VIP_INTERFACE})`)
    .option('--connect-timeout <duration>', 'backend connect timeout', '2s')
    .option('--connect-retries <n>', 'other backends to try after a refused or timed-out connect', '2')
    .option('--udp-timeout <duration>', 'UDP session idle timeout', '300s')
    .option('--udp-max-sessions <n>', 'UDP client sessions per service address (each holds a socket)', '16384')
    .option('--tcp-idle-timeout <duration>', 'close TCP connections idle this long (0 = never)', '0')
    .option('--eject-duration <duration>', 'quiesce a backend this long after a failed connect (0 = never)', '5s')
    .option('--shutdown-grace <duration>', 'on SIGTERM, let open connections finish this long', '30s')
    .option('--healthz-timeout <duration>', '/healthz answers 503 when an update waited longer than this', '60s')
    .option('--flow-capacity <n>', 'engine flow table capacity (like nf_conntrack_max)')
    .option('--affinity-capacity <n>', 'engine ClientIP affinity table capacity')
    .option('--workers <n>', 'worker threads accepting on every Service address, one engine state (default: one per CPU; 1 = no threads)')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'));
}

/** `250ms`, `2s`, `5m`, `1h`, or a bare number of seconds → milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag}: "${value}" is not a duration (e.g. 500ms, 2s, 5m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}

export function parseCount(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new UsageError(`${flag}: "${value}" must be an integer from ${min} to ${max}`);
  return n;
}

function bindAddress(flag: string, value: string): string | null {
  if (value === 'off' || value === '' || value === '0') return null;
  try {
    parseBindAddress(flag, value);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return value;
}

export interface ResolvedForwarderFlags {
  forwarder: ForwarderOptions;
  engine: EngineOptions;
  metricsAddress: string | null;
  healthzAddress: string | null;
  shutdownGraceMs: number;
  /** --workers; undefined = one per CPU (host/forwarder/workers/worker-count.ts). */
  workers: number | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
}

export function resolveForwarderFlags(v: ForwarderFlagValues): ResolvedForwarderFlags {
  const cidrs = (v.nodeportAddresses ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const c of cidrs) {
    if (c !== 'primary' && !ipaddr.isValidCIDR(c)) throw new UsageError(`--nodeport-addresses: "${c}" is not a CIDR (e.g. 192.168.0.0/16)`);
  }
  const udpTimeoutMs = parseDuration('--udp-timeout', v.udpTimeout);
  if (udpTimeoutMs < 100) throw new UsageError(`--udp-timeout: "${v.udpTimeout}" is shorter than 100ms`);
  const engine: EngineOptions = { timeouts: { udp: Math.max(1, Math.ceil(udpTimeoutMs / 1000)) } };
  if (v.flowCapacity !== undefined) engine.flowCapacity = parseCount('--flow-capacity', v.flowCapacity, 1024, (1 << 24) - 2);
  if (v.affinityCapacity !== undefined) engine.affinityCapacity = parseCount('--affinity-capacity', v.affinityCapacity, 1024, (1 << 24) - 2);
  const vipInterface = v.bindVips === true ? DEFAULT_VIP_INTERFACE : typeof v.bindVips === 'string' ? v.bindVips : undefined;
  if (vipInterface !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(vipInterface)) {
    throw new UsageError(`--bind-vips: "${vipInterface}" is not a valid interface name (1-15 letters, digits, _ . -)`);
  }
  if (!LOG_LEVELS.includes(v.logLevel as (typeof LOG_LEVELS)[number])) throw new UsageError(`--log-level: "${v.logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  return {
    forwarder: {
      nodePortAddresses: cidrs,
      vipInterface,
      connectTimeoutMs: Math.max(1, parseDuration('--connect-timeout', v.connectTimeout)),
      connectRetries: parseCount('--connect-retries', v.connectRetries, 0, 16),
      udpTimeoutMs,
      udpMaxSessions: parseCount('--udp-max-sessions', v.udpMaxSessions, 1, 1_000_000),
      tcpIdleTimeoutMs: parseDuration('--tcp-idle-timeout', v.tcpIdleTimeout),
      ejectMs: parseDuration('--eject-duration', v.ejectDuration),
      healthTimeoutMs: parseDuration('--healthz-timeout', v.healthzTimeout),
    },
    engine,
    metricsAddress: bindAddress('--metrics-bind-address', v.metricsBindAddress),
    healthzAddress: bindAddress('--healthz-bind-address', v.healthzBindAddress),
    shutdownGraceMs: parseDuration('--shutdown-grace', v.shutdownGrace),
    workers: v.workers === undefined ? undefined : parseWorkers(v.workers),
    logLevel: v.logLevel as (typeof LOG_LEVELS)[number],
  };
}

/** --workers: a whole number of threads, 1..255 (worker ids are one byte in the shared engine). */
function parseWorkers(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 255) throw new UsageError(`--workers: "${value}" is not a number of worker threads from 1 to 255`);
  return n;
}

/** Structured logs (pino) on stderr, so stdout stays for command output. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { component: 'forwarder' } }, pino.destination({ fd: 2, sync: true }));
}
