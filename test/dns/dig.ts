/**
 * The real `dig` (Debian dnsutils) against a server on loopback, its output parsed into the rcode,
 * the header flags and each section's records (whitespace collapsed).
 */
import { execFile, spawnSync } from 'node:child_process';

export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  readonly answer: readonly string[];
  readonly authority: readonly string[];
  readonly additional: readonly string[];
  readonly raw: string;
}

export const HAVE_DIG = spawnSync('dig', ['-v'], { stdio: 'ignore' }).status === 0;

function section(raw: string, title: string): string[] {
  const lines = raw.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`;; ${title} SECTION:`));
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.trim()) break;
    out.push(l.trim().replace(/\s+/g, ' '));
  }
  return out;
}

/** `dig @host -p port <args>`, one try; resolves even for error rcodes, rejects when dig fails. */
export function dig(server: { host: string; port: number }, args: readonly string[]): Promise<DigResult> {
  return new Promise((resolve, reject) => {
    execFile('dig', [`@${server.host}`, '-p', String(server.port), '+tries=1', '+time=5', '+nocookie', ...args], { timeout: 20_000 }, (err, stdout) => {
      const status = /status: ([A-Z]+)/.exec(stdout)?.[1];
      if (!status) return reject(new Error(`dig ${args.join(' ')}: ${err?.message ?? 'no answer'}\n${stdout}`));
      const flags = (/;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '').trim().split(/\s+/);
      resolve({ status, flags, answer: section(stdout, 'ANSWER'), authority: section(stdout, 'AUTHORITY'), additional: section(stdout, 'ADDITIONAL'), raw: stdout });
    });
  });
}
