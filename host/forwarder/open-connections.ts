/**
 * The open TCP connections of a thread's listeners (for draining and aborting): an intrusive
 * doubly-linked list, the connections are their own nodes.
 *
 * Why not a `Set`: with connections added and deleted thousands of times a second, V8 rebuilds
 * the Set's hash table every few dozen operations, and each table it leaves behind still points
 * at the connections that were open then, and on to the table that replaced it. Once such a
 * table has been promoted to the old generation it keeps those connections — their sockets,
 * stream states and buffers — alive through every young-generation GC until the next full one:
 * measured under `wrk` (c=8, `Connection: close`, `--trace-gc-nvp`), 1.6-2.0 MB promoted per
 * scavenge and 4.5-6 ms per scavenge with the Set, 0.87 MB and 2.6 ms without it, as node-pipe
 * (issue 14). A removed node here keeps no link to anything, so a finished connection holds
 * nothing young.
 */

/** A connection the list links through these fields (no allocation per entry). */
export interface OpenConnection {
  prevOpen: OpenConnection | null;
  nextOpen: OpenConnection | null;
}

export class OpenConnections<C extends OpenConnection> {
  private head: C | null = null;
  private count = 0;

  /** Connections in the list. */
  get size(): number {
    return this.count;
  }

  /** Adds a connection that is in no list. */
  add(c: C): void {
    c.prevOpen = null;
    c.nextOpen = this.head;
    if (this.head) this.head.prevOpen = c;
    this.head = c;
    this.count++;
  }

  /** Removes a connection; a no-op when it is not in the list (removed twice). */
  delete(c: C): void {
    if (c.prevOpen === null && this.head !== c) return;
    if (c.prevOpen) c.prevOpen.nextOpen = c.nextOpen;
    else this.head = c.nextOpen as C | null;
    if (c.nextOpen) c.nextOpen.prevOpen = c.prevOpen;
    c.prevOpen = null;
    c.nextOpen = null;
    this.count--;
  }

  /** The connections now, newest first: a copy, so callers may remove while walking it. */
  toArray(): C[] {
    const out: C[] = [];
    for (let c = this.head; c; c = c.nextOpen as C | null) out.push(c);
    return out;
  }
}
