/**
 * dig-like text for golden files: one block per question with the rcode, then each section's
 * records in zone-file form (`name ttl IN TYPE data`), names with their trailing dot.
 */
import type { Answer } from 'dns-packet';
import type { Forward, ZoneAnswer } from '../../host/dns/answer.js';

function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

export function recordText(a: Answer): string {
  const head = `${fqdn(a.name)} ${'ttl' in a ? a.ttl : 0} IN ${a.type}`;
  const d = (a as { data?: unknown }).data;
  switch (a.type) {
    case 'A': case 'AAAA': return `${head} ${d as string}`;
    case 'CNAME': case 'PTR': case 'NS': return `${head} ${fqdn(d as string)}`;
    case 'TXT': return `${head} ${(d as (string | Buffer)[]).map((t) => JSON.stringify(String(t))).join(' ')}`;
    case 'SRV': {
      const s = d as { priority: number; weight: number; port: number; target: string };
      return `${head} ${s.priority} ${s.weight} ${s.port} ${fqdn(s.target)}`;
    }
    case 'SOA': {
      const s = d as { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
      return `${head} ${fqdn(s.mname)} ${fqdn(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    default: return `${head} ${JSON.stringify(d)}`;
  }
}

export function renderAnswer(question: string, a: ZoneAnswer | Forward): string {
  const lines = [`> ${question}`];
  if ('forward' in a) {
    lines.push(a.fallback ? `forwarded upstream; without upstream: ${a.fallback.rcode}` : 'forwarded upstream; without upstream: REFUSED');
    if (a.fallback) for (const r of a.fallback.authorities) lines.push(`  authority  ${recordText(r)}`);
    return lines.join('\n');
  }
  lines.push(a.rcode + (a.chase ? ` (then ${a.chase.name} ${a.chase.type} from upstream)` : ''));
  for (const [label, list] of [['answer', a.answers], ['authority', a.authorities], ['additional', a.additionals]] as const) {
    for (const r of list) lines.push(`  ${label.padEnd(10)} ${recordText(r)}`);
  }
  return lines.join('\n');
}
