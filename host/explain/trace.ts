/**
 * The shape of an explain trace (issue 13): one connection's decision, step by step in the order
 * the engine takes them (engine/core.ts connect → admit), each step with the facts it used.
 */
import type { Address } from '../engine/address.js';
import type { Protocol, SchedulerName } from '../engine/model.js';

export type StepName = 'flow' | 'match' | 'source-ranges' | 'traffic-policy' | 'endpoints' | 'affinity' | 'scheduler' | 'verdict';
export type VerdictName = 'backend' | 'pass' | 'reject' | 'drop';
export type ViaName = 'none' | 'scheduler' | 'flow' | 'affinity';

export interface ExplainStep {
  readonly step: StepName;
  /** One line: what this step decided. */
  readonly summary: string;
  /** The facts it used, one per line. */
  readonly lines: readonly string[];
}

/** One new connection to explain. */
export interface ExplainConnection {
  readonly src: Address;
  readonly srcPort: number;
  readonly dst: Address;
  readonly dstPort: number;
  readonly protocol: Protocol;
  readonly nowMs: number;
}

export interface ExplainTrace {
  readonly from: string;
  readonly to: string;
  readonly protocol: Protocol;
  readonly atMs: number;
  /** servicePortKey, null when nothing matched. */
  readonly service: string | null;
  readonly scheduler: SchedulerName | null;
  readonly verdict: VerdictName;
  readonly via: ViaName;
  /** `ip:port` of the backend, null unless verdict backend. */
  readonly backend: string | null;
  readonly backendIndex: number;
  /** dh/sh bucket or mh slot, -1 otherwise (the engine's Decision.detail). */
  readonly detail: number;
  readonly steps: readonly ExplainStep[];
}

/** explain predicted one decision and the engine made another: a bug in one of them, never hidden. */
export class ExplainMismatchError extends Error {
  constructor(message: string) {
    super(`internal error: ${message}`);
    this.name = 'ExplainMismatchError';
  }
}

/** `ip:port`, brackets for IPv6. */
export function hostPort(a: Address, port: number): string {
  return a.family === 6 ? `[${a.text}]:${port}` : `${a.text}:${port}`;
}
