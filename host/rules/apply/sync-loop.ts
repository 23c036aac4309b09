/**
 * Keeps the kernel in sync with a changing model, like kube-proxy's BoundedFrequencyRunner: a change
 * triggers a sync, but never sooner than `minSyncPeriodMs` after the previous one; every
 * `syncPeriodMs` a sync runs anyway (it notices flushed rules via the canary / missing table); a failed
 * sync is retried after `minSyncPeriodMs` (the applier has already scheduled it to be full).
 */
import type { ServiceModel } from '../../engine/model.js';
import type { RuleApplier, SyncResult } from './sync-result.js';

export interface SyncLoopOptions {
  readonly minSyncPeriodMs: number;
  readonly syncPeriodMs: number;
  readonly onSynced?: (result: SyncResult) => void;
  readonly onError?: (err: Error) => void;
}

export class SyncLoop {
  private model: ServiceModel | undefined;
  private lastSync = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly appliers: readonly RuleApplier[],
    private readonly opts: SyncLoopOptions,
  ) {}

  /** A new model to install (the latest one wins). */
  update(model: ServiceModel): void {
    this.model = model;
    this.schedule(Math.max(0, this.lastSync + this.opts.minSyncPeriodMs - performance.now()));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runOnce(), delayMs);
  }

  private async runOnce(): Promise<void> {
    this.timer = undefined;
    if (this.running) {
      await this.running;
      return this.schedule(0);
    }
    const model = this.model;
    if (!model || this.stopped) return;
    this.running = (async () => {
      this.lastSync = performance.now();
      let failed = false;
      for (const applier of this.appliers) {
        try {
          // Not `onSynced?.(await ...)`: an optional call skips evaluating its arguments.
          const result = await applier.sync(model);
          this.opts.onSynced?.(result);
        } catch (err) {
          failed = true;
          this.opts.onError?.(err as Error);
        }
      }
      // A model that arrived during this sync has its own timer, which scheduling replaces: keep
      // it due at the next allowed sync, not a whole sync period away.
      const changed = this.model !== model;
      this.schedule(failed || changed ? Math.max(0, this.lastSync + this.opts.minSyncPeriodMs - performance.now()) : this.opts.syncPeriodMs);
    })();
    await this.running;
    this.running = undefined;
  }

  /** Stops scheduling and waits for a sync in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
