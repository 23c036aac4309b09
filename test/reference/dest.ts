/**
 * A real server ("destination") as the IPVS schedulers see it (reference/ipvs-schedulers.md §1.2),
 * and the scheduler interface with the kernel's hooks (§1.3).
 */
import type { Address } from '../../host/engine/address.js';

export interface RefDest {
  /** `ip:port`, unique within a service. */
  readonly id: string;
  readonly addr: Address;
  readonly port: number;
  /** Current weight; 0 = quiesced. */
  weight: number;
  /** The last non-zero weight (the weight given at add time, even 0). Only mh reads it. */
  lastWeight: number;
  /** activeconns / inactconns. */
  active: number;
  inactive: number;
  /** IP_VS_DEST_F_OVERLOAD (thresholds are not modelled; tests set it by hand). */
  overloaded: boolean;
}

/** What a scheduler may look at in the packet that opens a connection. */
export interface RefPacket {
  /** Client (source) address and port. */
  readonly client: Address;
  readonly clientPort: number;
  /** Packet destination address (the VIP): dh hashes it. */
  readonly vip: Address;
}

/** A scheduler's answer: the server (null = "no destination available") and the bucket/slot used. */
export interface RefChoice {
  readonly dest: RefDest | null;
  /**
   * dh/sh bucket or mh slot the server was found in (a fallback probe's, when one was used);
   * the first lookup's when none was found; -1 for the other schedulers.
   */
  readonly detail: number;
}

/**
 * One IPVS scheduler. `list` is the service's destination list, head first. Hooks run after the
 * list has changed, as in the kernel (`__ip_vs_update_dest`, `__ip_vs_unlink_dest`).
 */
export interface RefScheduler {
  /** init_service: the scheduler is bound to a service whose list already exists. */
  init(list: readonly RefDest[]): void;
  /** add_dest: `dest` was just inserted at the head. */
  added(list: readonly RefDest[], dest: RefDest): void;
  /** del_dest: `dest` was just unlinked; it used to sit at `index`. */
  deleted(list: readonly RefDest[], dest: RefDest, index: number): void;
  /** upd_dest: `dest`'s weight was edited. */
  updated(list: readonly RefDest[], dest: RefDest): void;
  schedule(list: readonly RefDest[], packet: RefPacket): RefChoice;
}

/** Not OVERLOADed and weight > 0: the test every scheduler applies. */
export function eligible(d: RefDest): boolean {
  return d.weight > 0 && !d.overloaded;
}

/** `ip_vs_dest_conn_overhead`: 256·active + inactive (lc, wlc). */
export function connOverhead(d: RefDest): number {
  return d.active * 256 + d.inactive;
}

export const NONE: RefChoice = { dest: null, detail: -1 };
