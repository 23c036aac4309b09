/**
 * The kernel's IPVS table as the reference model (test/reference/virtual-service.ts) driven by
 * ipvsadm command lines: what `ipvsadm-restore` would do with the exporter's output, for the
 * tests on machines whose kernel has no IPVS (this one). `-A` creates an empty service and binds
 * its scheduler, `-a` inserts at the head with the add_dest hook, `-d` unlinks with del_dest, `-e`
 * edits with upd_dest, `-E` changes flags, `-D` deletes, `-C` flushes, `-Sn` saves; like ipvsadm, a command on
 * something missing (or an `-A`/`-a` of something present) fails.
 */
import type { Runner } from '../../host/rules/apply/exec.js';
import type { SchedulerFlags, SchedulerName } from '../../host/engine/model.js';
import { createScheduler, destId, RefVirtualService } from '../reference/virtual-service.js';

/** `ip:port` or `[ip6]:port` → its parts. */
function parseServer(server: string): { ip: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(server);
  if (!m) throw new Error(`ipvsadm: bad address ${server}`);
  return { ip: m[1]!, port: Number(m[2]) };
}

function option(tokens: readonly string[], flag: string): string | undefined {
  const i = tokens.indexOf(flag);
  return i >= 0 ? tokens[i + 1] : undefined;
}

function flagsOf(tokens: readonly string[]): SchedulerFlags {
  const b = option(tokens, '-b') ?? '';
  return { port: /-port\b/.test(b), fallback: /-fallback\b/.test(b) };
}

export class KernelIpvs {
  /** Virtual services by identity (`-t 10.96.0.10:80`). */
  readonly services = new Map<string, RefVirtualService>();
  private readonly schedulers = new Map<string, string>();

  /** `ipvsadm -Sn`: each service's `-A` line, then its `-a` lines head first (as --nosort). */
  save(): string {
    const lines: string[] = [];
    for (const [service, svc] of this.services) {
      lines.push(`-A ${service} -s ${this.schedulers.get(service)}`);
      for (const d of svc.list) lines.push(`-a ${service} -r ${d.id} -m -w ${d.weight}`);
    }
    return lines.map((l) => l + '\n').join('');
  }

  private get(service: string): RefVirtualService {
    const svc = this.services.get(service);
    if (!svc) throw new Error(`ipvsadm: no such service ${service}`);
    return svc;
  }

  run(line: string): void {
    const tokens = line.trim().split(/\s+/);
    const [cmd] = tokens;
    if (cmd === '-C') return this.services.clear();
    const service = `${tokens[1]} ${tokens[2]}`;
    const rs = option(tokens, '-r');
    const dest = rs ? parseServer(rs) : undefined;
    const weight = Number(option(tokens, '-w') ?? 1);
    switch (cmd) {
      case '-A':
        if (this.services.has(service)) throw new Error(`ipvsadm: service ${service} already exists`);
        this.services.set(service, RefVirtualService.builtByAdding(createScheduler(option(tokens, '-s') as SchedulerName, flagsOf(tokens)), []));
        this.schedulers.set(service, option(tokens, '-s')!);
        return;
      case '-E':
        return this.get(service).editFlags(flagsOf(tokens));
      case '-D':
        this.get(service);
        this.services.delete(service);
        return;
      case '-a':
        this.get(service).add({ ...dest!, weight });
        return;
      case '-e':
        return this.get(service).setWeight(destId(dest!.ip, dest!.port), weight);
      case '-d':
        return this.get(service).remove(destId(dest!.ip, dest!.port));
    }
    throw new Error(`ipvsadm: command not modelled: ${line}`);
  }

  restore(text: string): void {
    for (const line of text.split('\n')) if (line.trim()) this.run(line);
  }
}

/** A Runner whose ipvsadm and ipvsadm-restore act on `kernel`; every other tool succeeds silently. */
export function kernelRunner(kernel: KernelIpvs, calls: string[] = []): Runner {
  return {
    async run(cmd, args, input) {
      calls.push([cmd, ...args].join(' '));
      try {
        if (cmd === 'ipvsadm' && args[0] === '-Sn') return { code: 0, stdout: kernel.save(), stderr: '' };
        if (cmd === 'ipvsadm' && args[0] === '-C') kernel.run('-C');
        else if (cmd === 'ipvsadm-restore') kernel.restore(input ?? '');
      } catch (err) {
        return { code: 1, stdout: '', stderr: (err as Error).message };
      }
      return { code: 0, stdout: '', stderr: '' };
    },
  };
}
