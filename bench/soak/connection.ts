/**
 * One soak client connection: reads the endpoint's greeting, then loops send message → check the
 * echo byte for byte → think → send the next. It reports what happened through callbacks and,
 * when it ends, why (the first cause seen wins: an error code, EOF, corruption, a stall).
 */
import type net from 'node:net';
import { GREETING_BYTES } from './protocol.js';

export interface ConnectionEnd {
  /** False when the TCP connect itself failed. */
  connected: boolean;
  /** We closed it (stop, or after a failed check): not the forwarder's or backend's doing. */
  byUs: boolean;
  reason: string;
}

export interface ConnectionHooks {
  nextMessage(): Buffer;
  thinkMs(): number;
  stopping(): boolean;
  onConnect(): void;
  onGreeting(endpoint: number): void;
  onEcho(bytes: number, rttMs: number): void;
  onCorrupt(bytes: number): void;
  onEnd(end: ConnectionEnd): void;
}

export class SoakConnection {
  /** The endpoint id from the greeting; null until it arrived. */
  endpoint: number | null = null;
  /** performance.now() when the message in flight was sent; null when none is. */
  waitingSince: number | null = null;
  private greeting = Buffer.alloc(0);
  private message: Buffer | null = null;
  private received = 0;
  private connected = false;
  private reason: string | null = null;
  private byUs = false;
  private think: NodeJS.Timeout | null = null;

  constructor(private readonly socket: net.Socket, private readonly hooks: ConnectionHooks) {
    socket.once('connect', () => {
      this.connected = true;
      hooks.onConnect();
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.cause(this.waitingSince !== null ? 'eof mid-echo' : 'eof'));
    socket.on('error', (err: NodeJS.ErrnoException) => this.cause(err.code ?? err.message));
    socket.on('close', () => {
      if (this.think) clearTimeout(this.think);
      hooks.onEnd({ connected: this.connected, byUs: this.byUs, reason: this.reason ?? 'closed' });
    });
  }

  /** Ends it from our side as a failure of `reason` (stall, corruption): the remote is not told why. */
  abandon(reason: string): void {
    this.cause(reason);
    this.socket.destroy();
  }

  /** A clean close from our side (end of the run). */
  close(): void {
    this.byUs = true;
    if (this.think) clearTimeout(this.think);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 3000).unref();
  }

  private cause(reason: string): void {
    this.reason ??= reason;
  }

  private onData(chunk: Buffer): void {
    if (this.endpoint === null) {
      this.greeting = Buffer.concat([this.greeting, chunk]);
      if (this.greeting.length < GREETING_BYTES) return;
      this.endpoint = this.greeting.readUInt32BE(0);
      chunk = this.greeting.subarray(GREETING_BYTES);
      this.hooks.onGreeting(this.endpoint);
      this.schedule();
      if (!chunk.length) return;
    }
    this.check(chunk);
  }

  /** Compares echoed bytes with the message in flight; any difference or excess is corruption. */
  private check(chunk: Buffer): void {
    const msg = this.message;
    const want = msg ? msg.length - this.received : 0;
    const n = Math.min(want, chunk.length);
    let bad = chunk.length - n;
    if (n > 0 && !chunk.subarray(0, n).equals(msg!.subarray(this.received, this.received + n))) {
      for (let i = 0; i < n; i++) if (chunk[i] !== msg![this.received + i]) bad++;
    }
    this.received += n;
    if (bad > 0) {
      this.hooks.onCorrupt(bad);
      this.abandon('corrupt');
      return;
    }
    if (msg && this.received === msg.length) {
      this.hooks.onEcho(msg.length, performance.now() - this.waitingSince!);
      this.message = null;
      this.waitingSince = null;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.hooks.stopping()) return;
    this.think = setTimeout(() => this.send(), this.hooks.thinkMs());
  }

  private send(): void {
    this.think = null;
    if (this.hooks.stopping() || this.socket.destroyed) return;
    this.message = this.hooks.nextMessage();
    this.received = 0;
    this.waitingSince = performance.now();
    this.socket.write(this.message);
  }
}
