/**
 * How many worker threads `vipwasm forward --workers N` runs. Several threads can only hold one
 * address with SO_REUSEPORT, which Node's net and dgram offer from 22.12 (and 23.1) on; on an
 * older Node the forwarder runs single-threaded and says why.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { SHARED_ENGINE } from './engine-link.js';

/** Whether `server.listen({ reusePort })` and `dgram.createSocket({ reusePort })` exist in this Node. */
export function reusePortSupported(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}

/**
 * The worker count to run: `requested` (--workers) or one per available CPU (once the engine state
 * is shared), capped at 255
 * (worker ids are one byte in the shared engine), and 1 where reusePort is missing, logged once
 * (at warn when the user asked for more explicitly).
 */
export function resolveWorkerCount(requested: number | undefined, log: Logger, version: string = process.versions.node): number {
  // Until workers share one engine state (engine-link.ts), several workers schedule apart (rr
  // cursors, lc counts and ClientIP affinity per worker): more than one only when asked for.
  const wanted = Math.min(255, requested ?? (SHARED_ENGINE ? availableParallelism() : 1));
  if (wanted <= 1 || reusePortSupported(version)) return wanted;
  const why = `Node ${version} cannot bind one address in several threads (reusePort needs Node >= 22.12); forwarding with 1 worker`;
  if (requested !== undefined) log.warn({ workers: 1, requested }, `--workers ${requested}: ${why}`);
  else log.info({ workers: 1, cpus: wanted }, why);
  return 1;
}
