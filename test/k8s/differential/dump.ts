/**
 * Normalized rule dumps for the differential suites: `iptables-save` output and `nft -j list table`
 * JSON become a map of comparable items, each owned by one scenario (its Kubernetes namespace) or by
 * none (the fixed rules every proxy writes).
 *
 * Counters, handles and comments are stripped. A comment still says which Service port a rule is for,
 * so it is read before it is dropped. Per-Service chains (KUBE-SVC/SVL/EXT/FW/SEP, nftables
 * service-/endpoint-/external-/firewall-/cluster-/local-…) are compared whole, rule order included.
 * In the chains every Service shares (KUBE-SERVICES, KUBE-NODEPORTS, …) kube-proxy writes Service
 * ports in Go map order, which is random, so there each Service port's rules are compared as one
 * ordered group, and the rules of no Service as another. Set and map elements are compared exactly,
 * as sorted lists per set and owner.
 */

/** One comparable piece of a ruleset. */
export interface DumpItem {
  /** e.g. `ip4 nat KUBE-SVC-ABC`, `ip4 nat KUBE-SERVICES [dt-3/svc:p80]`, `ip6 map service-ips [dt-3/svc:p80]`. */
  readonly key: string;
  /** The scenario namespace it belongs to; undefined for rules of no Service. */
  readonly owner: string | undefined;
  readonly text: string;
}

export type Dump = Map<string, DumpItem>;

/** `dt-12/svc:p80` (or `dt-12/svc` for an unnamed port; `dt-marker` is the suite's sync marker) anywhere in a comment or name. */
const PORT_NAME = /\b(dt-(?:\d+|marker))\/svc(?::(p\d+)|\/[a-z]+\/(p\d+))?/;

export function portOwner(text: string | undefined): { namespace: string; port: string } | undefined {
  const m = text ? PORT_NAME.exec(text) : null;
  return m ? { namespace: m[1]!, port: `${m[1]}/svc:${m[2] ?? m[3] ?? ''}` } : undefined;
}

const SERVICE_CHAIN = /^KUBE-(SVC|SVL|EXT|FW|SEP)-/;
const COMMENT = /-m comment --comment ("(?:[^"\\]|\\.)*"|\S+) ?/;

interface IptablesRule {
  readonly text: string;
  readonly comment: string | undefined;
}

/** iptables-save output → table → chain → rules (in order), declared chains included. */
function parseIptablesSave(text: string): Map<string, Map<string, IptablesRule[]>> {
  const tables = new Map<string, Map<string, IptablesRule[]>>();
  let table: Map<string, IptablesRule[]> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) tables.set(line.slice(1), (table = new Map()));
    else if (line.startsWith(':') && table) table.set(line.slice(1).split(' ')[0]!, []);
    else if (line.startsWith('-A ') && table) {
      const chain = line.split(' ')[1]!;
      const m = COMMENT.exec(line);
      const stripped = (m ? line.replace(m[0], '') : line).replace(/\s+$/, '');
      const rules = table.get(chain) ?? [];
      table.set(chain, rules);
      rules.push({ text: stripped, comment: m?.[1]?.replace(/^"|"$/g, '') });
    }
  }
  return tables;
}

/** Normalizes one family's `iptables-save` (every table). */
export function normalizeIptables(saved: string, family: 'ip4' | 'ip6'): Dump {
  const out: Dump = new Map();
  const add = (key: string, owner: string | undefined, text: string) => out.set(key, { key, owner, text });
  for (const [table, chains] of parseIptablesSave(saved)) {
    // Owners of per-Service chains: from their own comments, else from a rule that jumps to them.
    const owners = new Map<string, string>();
    for (const [chain, rules] of chains) {
      const o = rules.map((r) => portOwner(r.comment)).find(Boolean);
      if (SERVICE_CHAIN.test(chain) && o) owners.set(chain, o.namespace);
    }
    for (const rules of chains.values()) {
      for (const r of rules) {
        const target = /-j (KUBE-\S+)/.exec(r.text)?.[1];
        const o = portOwner(r.comment);
        if (target && SERVICE_CHAIN.test(target) && !owners.has(target) && o) owners.set(target, o.namespace);
      }
    }
    for (const [chain, rules] of chains) {
      if (SERVICE_CHAIN.test(chain)) {
        add(`${family} ${table} ${chain}`, owners.get(chain), rules.map((r) => r.text).join('\n'));
        continue;
      }
      add(`${family} ${table} :${chain}`, undefined, 'declared');
      const groups = new Map<string, { owner: string | undefined; lines: string[] }>();
      for (const r of rules) {
        const o = portOwner(r.comment);
        const g = groups.get(o?.port ?? '') ?? { owner: o?.namespace, lines: [] };
        groups.set(o?.port ?? '', g);
        g.lines.push(r.text);
      }
      for (const [port, g] of groups) add(`${family} ${table} ${chain} [${port}]`, g.owner, g.lines.join('\n'));
    }
  }
  return out;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Drops handles, comments and counter values, recursively. */
function strip(v: Json): Json {
  if (Array.isArray(v)) return v.map(strip);
  if (v === null || typeof v !== 'object') return v;
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'handle' || k === 'comment') continue;
    out[k] = k === 'counter' ? null : strip(x);
  }
  return out;
}

/** The first comment or chain name with a scenario's port name inside `v`. */
function ownerIn(v: Json): ReturnType<typeof portOwner> {
  return portOwner(JSON.stringify(v));
}

/** Normalizes `nft -j list table <ip|ip6> kube-proxy`. */
export function normalizeNftables(json: string, family: 'ip4' | 'ip6'): Dump {
  const out: Dump = new Map();
  const add = (key: string, owner: string | undefined, text: string) => {
    const prev = out.get(key);
    out.set(key, { key, owner, text: prev ? `${prev.text}\n${text}` : text });
  };
  const objects = (JSON.parse(json) as { nftables: Record<string, Json>[] }).nftables;
  for (const o of objects) {
    const [kind, body] = Object.entries(o)[0] as [string, { [k: string]: Json }];
    if (kind === 'chain') {
      const owner = portOwner(String(body['name']))?.namespace;
      add(`${family} chain ${String(body['name'])}`, owner, JSON.stringify(strip({ ...body, name: null })));
    } else if (kind === 'set' || kind === 'map') {
      const name = String(body['name']);
      const setOwner = portOwner(name)?.namespace;
      const { elem, ...decl } = body;
      add(`${family} ${kind} ${name}`, setOwner, JSON.stringify(strip(decl)));
      const groups = new Map<string, { owner: string | undefined; elems: string[] }>();
      for (const e of (elem as Json[] | undefined) ?? []) {
        // Owned by what the element says once its comment is gone (a verdict's chain name), as compared.
        const o = setOwner ? { namespace: setOwner, port: name } : ownerIn(strip(e));
        const g = groups.get(o?.port ?? '') ?? { owner: o?.namespace, elems: [] };
        groups.set(o?.port ?? '', g);
        g.elems.push(JSON.stringify(strip(e)));
      }
      for (const [port, g] of groups) add(`${family} ${kind} ${name} [${port}]`, g.owner, g.elems.sort().join('\n'));
    } else if (kind === 'rule') {
      const chain = String(body['chain']);
      const chainOwner = portOwner(chain);
      const o = chainOwner ?? portOwner(typeof body['comment'] === 'string' ? body['comment'] : undefined);
      const key = chainOwner ? `${family} rules ${chain}` : `${family} rules ${chain} [${o?.port ?? ''}]`;
      add(key, o?.namespace, JSON.stringify(strip(body['expr']!)));
    }
  }
  // kube-proxy flushes a stale Service chain at once but deletes it only in a sync at least a second
  // later (syncProxyRules' staleChains); vipwasm deletes it in the same transaction. An empty
  // per-Service chain is therefore no difference (host/rules/README.md).
  for (const [key, item] of out) {
    const chain = /^\S+ chain (.*)$/.exec(key)?.[1];
    if (chain && item.owner && !out.has(`${family} rules ${chain}`)) out.delete(key);
  }
  return out;
}

/** The result of comparing two dumps: differing keys, per owner (undefined = rules of no Service). */
export interface Comparison {
  readonly differing: Map<string | undefined, { key: string; kubeProxy?: string; vipwasm?: string }[]>;
}

export function compareDumps(kubeProxy: Dump, vipwasm: Dump): Comparison {
  const differing: Comparison['differing'] = new Map();
  for (const key of new Set([...kubeProxy.keys(), ...vipwasm.keys()])) {
    const a = kubeProxy.get(key);
    const b = vipwasm.get(key);
    if (a?.text === b?.text) continue;
    const owner = a?.owner ?? b?.owner;
    const list = differing.get(owner) ?? [];
    differing.set(owner, list);
    list.push({ key, ...(a ? { kubeProxy: a.text } : {}), ...(b ? { vipwasm: b.text } : {}) });
  }
  return { differing };
}
