/**
 * The playground's state in the URL fragment, so a scenario can be shared as a link and survives a
 * reload. The fragment never reaches a server.
 *
 * Form: `#v1.<base64url(deflate-raw(JSON))>` when the manifests were edited, which keeps links
 * short; unknown or damaged fragments fall back to the defaults rather than failing the page.
 */
import { SCHEDULERS, type SchedulerName } from '../engine/model.js';
import { MAX_CLIENTS, MAX_REQUESTS } from './simulate.js';

export type RulesMode = 'iptables' | 'nftables' | 'ipvs';
export const RULES_MODES: readonly RulesMode[] = ['iptables', 'nftables', 'ipvs'];

export interface PlaygroundState {
  /** The example the editor started from. */
  example: string;
  /** The editor text when it differs from the example; null = the example as shipped. */
  manifests: string | null;
  /** The node the model is built for (Local traffic policy, NodePorts); '' = none. */
  node: string;
  /** `ip|port|protocol`, or '' for the first address of the model. */
  target: string;
  clients: number;
  requests: number;
  /** '' = each Service's own scheduler. */
  scheduler: SchedulerName | '';
  seed: number;
  close: boolean;
  rules: RulesMode;
  /** The decision shown in the step-through. */
  step: number;
}

export function defaultState(example: string): PlaygroundState {
  return { example, manifests: null, node: '', target: '', clients: 20, requests: 300, scheduler: '', seed: 0, close: false, rules: 'iptables', step: 0 };
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unbase64url(text: string): Uint8Array {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function pipe(bytes: Uint8Array, stream: GenericTransformStream): Promise<Uint8Array> {
  const body = new Blob([bytes as BlobPart]).stream().pipeThrough(stream as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

export async function encodeState(state: PlaygroundState): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(state));
  return `#v1.${base64url(await pipe(json, new CompressionStream('deflate-raw')))}`;
}

function intIn(v: unknown, lo: number, hi: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : fallback;
}

/** Decodes a fragment; every field is checked and replaced by its default when invalid. */
export async function decodeState(hash: string, fallbackExample: string, examples: readonly string[]): Promise<PlaygroundState> {
  const base = defaultState(fallbackExample);
  if (!hash.startsWith('#v1.')) return base;
  let raw: Record<string, unknown>;
  try {
    const json = await pipe(unbase64url(hash.slice(4)), new DecompressionStream('deflate-raw'));
    raw = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null) return base;
  } catch {
    return base;
  }
  const scheduler = raw['scheduler'];
  const rules = raw['rules'];
  return {
    example: typeof raw['example'] === 'string' && examples.includes(raw['example']) ? raw['example'] : base.example,
    manifests: typeof raw['manifests'] === 'string' ? raw['manifests'] : null,
    node: typeof raw['node'] === 'string' ? raw['node'] : '',
    target: typeof raw['target'] === 'string' ? raw['target'] : '',
    clients: intIn(raw['clients'], 1, MAX_CLIENTS, base.clients),
    requests: intIn(raw['requests'], 1, MAX_REQUESTS, base.requests),
    scheduler: typeof scheduler === 'string' && (SCHEDULERS as readonly string[]).includes(scheduler) ? (scheduler as SchedulerName) : '',
    seed: intIn(raw['seed'], 0, 0xffff_ffff, base.seed),
    close: raw['close'] === true,
    rules: RULES_MODES.includes(rules as RulesMode) ? (rules as RulesMode) : base.rules,
    step: intIn(raw['step'], 0, MAX_REQUESTS, 0),
  };
}
