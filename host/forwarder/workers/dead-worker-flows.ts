/**
 * What main does with a dead worker's flows (issue 14, part 2): each one it had recorded is closed
 * on the shared engine, so lc/wlc/sed/nq counts stay exact without its sockets, unless a live
 * worker has taken it over meanwhile (a UDP client whose datagrams now reach another worker's
 * socket, a TCP client reusing its port): closing that one would end a flow in use.
 *
 * Why that check is exact: a worker records a flow before its connect (recording-engine.ts), and
 * the connect takes the engine lock; main checks and closes holding the same lock. A connect that
 * took over a dead worker's flow therefore either ran first (its record is seen: kept), or runs
 * after main closed the flow (it opens a new one).
 */
import type { Engine } from '../../engine/engine.js';
import { withEngineLock } from '../../engine/shared.js';
import type { FlowRegistry } from './flow-registry.js';

export interface DeadWorkerFlows {
  /** Flows the dead worker had recorded. */
  readonly flows: number;
  /** Of those, closed on the engine now. */
  readonly closed: number;
  /** Of those, kept: a live worker holds them now. */
  readonly adopted: number;
}

export function closeDeadWorkerFlows(leader: Engine, dead: FlowRegistry, live: readonly FlowRegistry[], nowMs: number): DeadWorkerFlows {
  return withEngineLock(leader, () => {
    const flows = dead.flows();
    let closed = 0;
    let adopted = 0;
    for (const f of flows) {
      if (live.some((r) => r.has(f.protocol, f.src, f.srcPort, f.dst, f.dstPort))) adopted++;
      else if (leader.close(f.protocol, f.src, f.srcPort, f.dst, f.dstPort, nowMs)) closed++;
    }
    return { flows: flows.length, closed, adopted };
  });
}
