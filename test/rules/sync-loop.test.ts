/**
 * The --watch loop: bounded sync frequency, latest model wins, retry after a failure. The applier here
 * records calls instead of touching the kernel (the kernel side is covered by test/e2e/netns-*).
 */
import { describe, expect, it } from 'vitest';
import { SyncLoop } from '../../host/rules/apply/sync-loop.js';
import type { RuleApplier, SyncResult } from '../../host/rules/apply/sync-result.js';
import type { ServiceModel } from '../../host/engine/model.js';

class RecordingApplier implements RuleApplier {
  readonly mode = 'nftables' as const;
  readonly synced: Array<{ model: ServiceModel; at: number }> = [];
  failNext = false;
  /** How long each sync takes (iptables-restore on a busy machine). */
  delayMs = 0;
  async sync(model: ServiceModel): Promise<SyncResult> {
    this.synced.push({ model, at: Date.now() });
    if (this.delayMs) await sleep(this.delayMs);
    if (this.failNext) {
      this.failNext = false;
      throw new Error('refused');
    }
    return { mode: this.mode, full: this.synced.length === 1, bytes: 0, ms: 0, conntrackDeletions: 0 };
  }
  forceFullSync(): void {}
  async cleanup(): Promise<void> {}
}

const model = (n: number): ServiceModel => ({ nodeIPs: [`10.0.0.${n}`], servicePorts: [] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SyncLoop', () => {
  it('syncs at once, then no sooner than minSyncPeriod, with the latest model', async () => {
    const a = new RecordingApplier();
    const loop = new SyncLoop([a], { minSyncPeriodMs: 150, syncPeriodMs: 60_000 });
    loop.update(model(1));
    await sleep(30);
    loop.update(model(2));
    loop.update(model(3));
    await sleep(60);
    expect(a.synced.map((s) => s.model.nodeIPs[0])).toEqual(['10.0.0.1']);
    await sleep(150);
    expect(a.synced.map((s) => s.model.nodeIPs[0])).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(a.synced[1]!.at - a.synced[0]!.at).toBeGreaterThanOrEqual(140);
    await loop.stop();
  });

  it('installs a model that arrived during a sync right after it, not a sync period later', async () => {
    // Found against a real API server (test/k8s/api-rules-watch.test.ts): the end of a sync
    // rescheduled the loop at syncPeriod, dropping the timer the update had set meanwhile.
    const a = new RecordingApplier();
    a.delayMs = 60;
    const loop = new SyncLoop([a], { minSyncPeriodMs: 150, syncPeriodMs: 60_000 });
    loop.update(model(1));
    await sleep(20); // the first sync is still running; the next may start at 150 ms
    loop.update(model(2));
    await sleep(400);
    expect(a.synced.map((s) => s.model.nodeIPs[0])).toEqual(['10.0.0.1', '10.0.0.2']);
    await loop.stop();
  });

  it('retries a failed sync after minSyncPeriod and reports the error', async () => {
    const a = new RecordingApplier();
    a.failNext = true;
    const errors: string[] = [];
    const loop = new SyncLoop([a], { minSyncPeriodMs: 50, syncPeriodMs: 60_000, onError: (e) => errors.push(e.message) });
    loop.update(model(1));
    await sleep(150);
    expect(errors).toEqual(['refused']);
    expect(a.synced.length).toBeGreaterThanOrEqual(2);
    await loop.stop();
  });

  it('resyncs every syncPeriod without changes', async () => {
    const a = new RecordingApplier();
    const loop = new SyncLoop([a], { minSyncPeriodMs: 10, syncPeriodMs: 60 });
    loop.update(model(1));
    await sleep(200);
    await loop.stop();
    expect(a.synced.length).toBeGreaterThanOrEqual(3);
  });
});
