/**
 * Runs the kernel tools (iptables-restore, nft, ipvsadm, conntrack, ip): never through a shell, input
 * on stdin. Optionally inside a network namespace (`ip netns exec NS ...`), which the tests and the
 * benchmark use.
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Runner {
  /** Runs `cmd args` with `input` on stdin; resolves with the exit status (never rejects on status). */
  run(cmd: string, args: readonly string[], input?: string): Promise<ExecResult>;
}

/** Default wall-clock limit for one tool invocation: a restore that hangs must not hang the proxy. */
const EXEC_TIMEOUT_MS = 120_000;

export class ToolError extends Error {
  override name = 'ToolError';
  constructor(
    readonly command: string,
    readonly result: ExecResult,
  ) {
    super(`${command} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim() || '(no output)'}`);
  }
}

/** A runner on this host, or inside network namespace `netns`; each invocation is killed after `timeoutMs`. */
export function localRunner(netns?: string, timeoutMs = EXEC_TIMEOUT_MS): Runner {
  return {
    run(cmd, args, input) {
      const [file, argv] = netns ? ['ip', ['netns', 'exec', netns, cmd, ...args]] : [cmd, [...args]];
      return new Promise((resolve, reject) => {
        const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', reject);
        child.on('close', (code, signal) =>
          resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
        );
        child.stdin.on('error', () => undefined);
        child.stdin.end(input ?? '');
      });
    },
  };
}

/** Runs and throws ToolError on a non-zero exit. */
export async function mustRun(runner: Runner, cmd: string, args: readonly string[], input?: string): Promise<ExecResult> {
  const r = await runner.run(cmd, args, input);
  if (r.code !== 0) throw new ToolError([cmd, ...args].join(' '), r);
  return r;
}
