/**
 * The connect timeout of every backend connect in flight, in one list with one timer.
 *
 * Why not `socket.setTimeout(connectTimeoutMs)` per upstream socket: that allocates a Timeout and
 * a bound function, links them into Node's timer list, adds a 'timeout' listener, and unlinks it
 * all again when the backend answers, microseconds later on a local network — per-connection work
 * a bare pipe proxy does not do (issue 14). Every connect of a forwarder has the same timeout, so
 * deadlines arrive in the order connects start: an intrusive FIFO (the entries are the connections
 * themselves) gives O(1) add and remove, and a single unref'd timer armed for the oldest entry
 * fires only when a connect really is late (or once per timeout period while connects keep
 * starting, to look at the new oldest one).
 */

/** A connect in flight; the list links it through these fields (no allocation per entry). */
export interface ConnectDeadline {
  deadlineAt: number;
  prevDeadline: ConnectDeadline | null;
  nextDeadline: ConnectDeadline | null;
  /** The deadline passed before `remove`: end the attempt as timed out. */
  connectTimedOut(): void;
}

export class ConnectDeadlines {
  private head: ConnectDeadline | null = null;
  private tail: ConnectDeadline | null = null;
  private timer: NodeJS.Timeout | null = null;

  /**
   * @param timeoutMs connect timeout; 0 or less disables it (no deadline is kept).
   * @param now the forwarder's monotonic clock (ms).
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number,
  ) {}

  /** Starts (or restarts, for a retry) the deadline of a connect. */
  add(e: ConnectDeadline): void {
    if (this.timeoutMs <= 0) return;
    this.remove(e);
    e.deadlineAt = this.now() + this.timeoutMs;
    e.prevDeadline = this.tail;
    e.nextDeadline = null;
    if (this.tail) this.tail.nextDeadline = e;
    else this.head = e;
    this.tail = e;
    if (!this.timer) this.arm(e.deadlineAt);
  }

  /** Ends a connect's deadline (answered, failed, or given up); a no-op when it is not in the list. */
  remove(e: ConnectDeadline): void {
    if (e.prevDeadline === null && this.head !== e) return;
    if (e.prevDeadline) e.prevDeadline.nextDeadline = e.nextDeadline;
    else this.head = e.nextDeadline;
    if (e.nextDeadline) e.nextDeadline.prevDeadline = e.prevDeadline;
    else this.tail = e.prevDeadline;
    e.prevDeadline = null;
    e.nextDeadline = null;
  }

  /** Connects in flight (walks the list: for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (let e = this.head; e; e = e.nextDeadline) n++;
    return n;
  }

  /** Stops the timer and forgets every entry (forwarder closed). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.head) this.remove(this.head);
  }

  private arm(at: number): void {
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - this.now())));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    const now = this.now();
    while (this.head && this.head.deadlineAt <= now) {
      const late = this.head;
      this.remove(late);
      late.connectTimedOut();
    }
    if (this.head && !this.timer) this.arm(this.head.deadlineAt);
  };
}
