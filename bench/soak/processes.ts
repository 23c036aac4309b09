/**
 * The soak's child processes: spawned with the soft open-files limit raised to the hard one (10,000
 * connections need about 20,000 descriptors in the forwarder), tracked so that every one is killed
 * by its pid on any way out, and sampled from /proc (RSS, CPU, open descriptors).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const children = new Set<ChildProcess>();

/** The hard RLIMIT_NOFILE this process (and so its children) may raise its soft limit to. */
export function hardNofile(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** The last ~64 KiB of stderr, for error messages. */
  stderrTail(): string;
}

/**
 * Starts `argv` under `sh -c 'ulimit -Sn <hard>; exec …'` (the soft limit raised as far as the
 * hard limit allows), with stdout/stderr piped and, when `ipc`, a Node IPC channel.
 */
export function start(name: string, argv: string[], opts: { ipc?: boolean; onStderrLine?: (line: string) => void } = {}): Spawned {
  const stdio: ('pipe' | 'ignore' | 'ipc')[] = ['ignore', 'pipe', 'pipe'];
  if (opts.ipc) stdio.push('ipc');
  const child = spawn('sh', ['-c', 'ulimit -Sn "$(ulimit -Hn)" && exec "$@"', name, ...argv], { stdio, env: { ...process.env, NODE_OPTIONS: '' } });
  if (child.pid === undefined) throw new Error(`cannot start ${name}`);
  children.add(child);
  let tail = '';
  let partial = '';
  child.stderr!.on('data', (c: Buffer) => {
    const text = c.toString();
    tail = (tail + text).slice(-65536);
    if (!opts.onStderrLine) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const l of lines) opts.onStderrLine(l);
  });
  child.on('exit', () => children.delete(child));
  return { child, pid: child.pid, stderrTail: () => tail };
}

/** Resolves when the child has exited; SIGTERM first, SIGKILL after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

/** Kills every child still running, by pid (the SIGINT path and the last step of every run). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c, 3000)));
}

export function killAllNow(): void {
  for (const c of children) c.kill('SIGKILL');
}

export interface ProcSample {
  rssKiB: number;
  /** CPU seconds (user + system) since the process started. */
  cpuSeconds: number;
  fds: number;
}

/** RSS, CPU and open descriptors of `pid` from /proc; null once it is gone. */
export function sample(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
    return { rssKiB, cpuSeconds, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

/** Sends `msg` over IPC and resolves with the first reply `accept` takes (bounded). */
export function ask<Reply>(child: ChildProcess, msg: unknown, accept: (r: Reply) => boolean, timeoutMs = 30_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (r: Reply): void => {
      if (!accept(r)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`no reply to ${JSON.stringify(msg)} within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.send(msg as never);
  });
}
