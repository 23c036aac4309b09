/**
 * Scheduler dispatch: one call per new connection, by the pool's scheduler id (layout.ts SCHED_*).
 * Returns the chosen member index within the pool, or -1 when no server is available.
 *
 * `word` (POOL_SCHED), `first` (POOL_MEMBER_START), `n` (POOL_MEMBER_COUNT) and `table`
 * (POOL_TABLE) are the pool's static fields as the caller holds them: the match slot's copies for
 * `connect`, so rr/dh/sh/mh reach members and tables without waiting on the pool record (issue 10).
 */
import { Generation } from '../generation';
import {
  MATCH_UNIFORM_BASE, NOT_UNIFORM, SCHED_DH, SCHED_LC, SCHED_MH, SCHED_NQ, SCHED_RANDOM, SCHED_RR, SCHED_SED, SCHED_SH,
  SCHED_WLC, SCHED_WRR, SPF_SCHED_FALLBACK, SPF_SCHED_PORT,
} from '../layout';
import { setDetail, setLocal } from './common';
import { settle } from '../pending';
import { scheduleRR } from './rr';
import { scheduleWRR } from './wrr';
import { scheduleLC } from './lc';
import { scheduleWLC } from './wlc';
import { scheduleSED } from './sed';
import { scheduleNQ } from './nq';
import { scheduleDH } from './dh';
import { scheduleSH } from './sh';
import { scheduleMH } from './mh';
import { scheduleRandom } from './random';

export { schedDetail, schedLocal } from './common';

/**
 * `at`: the pool's match slot (its address), or 0; rr keeps its position there, and its
 * MATCH_UNIFORM_BASE spares rr, dh, sh and mh the member line of the member they pick. The
 * schedulers that read connection counters first apply the queued ones (pending.ts).
 */
// @ts-ignore: decorator
@inline export function schedule(gen: Generation, pool: i32, word: u32, first: i32, n: i32, table: i32,
  srcFold: u32, srcPort: u32, dstFold: u32, at: usize): i32 {
  const sched = word & 0xff;
  const flags = word >>> 8;
  setDetail(-1);
  setLocal(-1);
  const base = at != 0 ? load<u32>(at, MATCH_UNIFORM_BASE << 2) : NOT_UNIFORM;
  switch (sched) {
    case SCHED_RR: return scheduleRR(gen, pool, first, n, at, base);
    case SCHED_WRR: return scheduleWRR(gen, pool);
    case SCHED_LC: settle(); return scheduleLC(gen, pool);
    case SCHED_WLC: settle(); return scheduleWLC(gen, pool);
    case SCHED_SED: settle(); return scheduleSED(gen, pool);
    case SCHED_NQ: settle(); return scheduleNQ(gen, pool);
    case SCHED_DH: return scheduleDH(gen, first, table, dstFold, base);
    case SCHED_SH:
      return scheduleSH(gen, first, table, srcFold, (flags & SPF_SCHED_PORT) != 0 ? srcPort : 0, (flags & SPF_SCHED_FALLBACK) != 0, base);
    case SCHED_MH:
      return scheduleMH(gen, first, n, table, srcFold, (flags & SPF_SCHED_PORT) != 0 ? srcPort : 0, (flags & SPF_SCHED_FALLBACK) != 0, base);
    case SCHED_RANDOM: return scheduleRandom(gen, pool);
  }
  return -1;
}
