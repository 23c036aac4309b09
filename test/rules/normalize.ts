/**
 * Normalisers from kube-proxy's own golden tests, so our output can be compared with upstream's
 * expected text: sortIPTablesRules (pkg/proxy/iptables/proxier_test.go) and sortNFTablesTransaction
 * (pkg/proxy/nftables/helpers_test.go).
 */

function chainRank(name: string): string {
  if (name === 'KUBE-NODEPORTS') return '0';
  if (name === 'KUBE-SERVICES') return '1';
  return name.startsWith('KUBE-') ? `2${name}` : `3${name}`;
}

/** "Service name" of a KUBE-SERVICES / KUBE-NODEPORTS rule: its comment up to the first space or colon. */
function serviceName(rule: string): string {
  const m = /--comment "?([^ :"]*)/.exec(rule);
  return m ? m[1]! : '';
}

const LAST_RULE = 'this must be the last rule in this chain';

/** Tables by name; chains KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* alphabetically; top-level rules by service. */
export function sortIPTablesRules(text: string): string {
  const tables = new Map<string, { chains: string[]; rules: Map<string, string[]> }>();
  let current: { chains: string[]; rules: Map<string, string[]> } | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = { chains: [], rules: new Map() };
      tables.set(line.slice(1), current);
    } else if (line.startsWith(':') && current) {
      const name = line.slice(1).split(' ')[0]!;
      current.chains.push(name);
      current.rules.set(name, []);
    } else if (line.startsWith('-A ') && current) {
      const name = line.split(' ')[1]!;
      current.rules.get(name)?.push(line);
    }
  }
  const out: string[] = [];
  for (const table of [...tables.keys()].sort()) {
    const t = tables.get(table)!;
    const chains = [...t.chains].sort((a, b) => (chainRank(a) < chainRank(b) ? -1 : chainRank(a) > chainRank(b) ? 1 : 0));
    out.push(`*${table}`, ...chains.map((c) => `:${c} - [0:0]`));
    for (const c of chains) {
      let rules = t.rules.get(c)!;
      if (c === 'KUBE-NODEPORTS' || c === 'KUBE-SERVICES') {
        const last = rules.filter((r) => r.includes(LAST_RULE));
        rules = rules
          .filter((r) => !r.includes(LAST_RULE))
          .map((r, i) => ({ r, i }))
          .sort((a, b) => (serviceName(a.r) < serviceName(b.r) ? -1 : serviceName(a.r) > serviceName(b.r) ? 1 : a.i - b.i))
          .map((x) => x.r)
          .concat(last);
      }
      out.push(...rules);
    }
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

const OBJECT_ORDER: Record<string, number> = { table: 0, chain: 1, rule: 2, set: 3, map: 4, element: 5 };

/**
 * Drops blank and `#` lines; orders by object type, then object name; keeps `add rule` lines in their
 * original order within a chain and sorts everything else by the whole line.
 */
export function sortNFTablesTransaction(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const keyed = lines.map((line, i) => {
    const words = line.split(' ');
    return { line, i, type: OBJECT_ORDER[words[1]!] ?? 9, name: words[4] ?? '', isRule: words[1] === 'rule' };
  });
  keyed.sort((a, b) => {
    if (a.type !== b.type) return a.type - b.type;
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    if (a.isRule) return a.i - b.i;
    return a.line < b.line ? -1 : a.line > b.line ? 1 : 0;
  });
  return keyed.map((k) => k.line).join('\n') + '\n';
}
