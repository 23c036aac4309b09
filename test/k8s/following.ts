/**
 * The checks every long-running `--kubeconfig` verb (forward, rules --watch, serve) must pass
 * against a real API server, written once: it follows the web scenario; it keeps serving what it
 * had while kube-apiserver restarts and converges to changes made after; cut off from the API
 * server while changes happen, etcd is compacted and the apiserver restarts (so the watch's
 * resourceVersion is gone: 410 Gone), it keeps serving the old state, then relists and converges;
 * and it stops serving a deleted Service. Each suite file supplies how to start its verb and how
 * to observe what it serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k8sToolchain } from '../../scripts/k8s/cluster.js';
import { type ApiCluster, createWebPod, ips, setReady, startApiCluster, waitForSlices, webClusterIP } from './api-cluster.js';
import type { ApiRelay, VipwasmProcess } from './api-process.js';
import { WEB_STEPS, applyStep, converges, servedIPs } from './web-scenario.js';

export interface FollowingVerb {
  /** The relay the verb reaches the API server through. */
  readonly relay: ApiRelay;
  /** The backend IPs the verb serves now for clusterIP:port ([] for none). */
  observe(clusterIP: string, port: number): Promise<string[]>;
  /** The verb's process. */
  readonly process: VipwasmProcess;
  /** Extra checks that must hold while the verb cannot reach the API server (e.g. a held connection still echoes). */
  whileDisconnected?(clusterIP: string): Promise<void>;
  stop(): Promise<void>;
}

const tool = k8sToolchain();
const isRoot = process.getuid?.() === 0;

/** Why a suite must skip here, or undefined. */
export function skipReason(needsRoot: boolean): string | undefined {
  if (!tool.ok) return tool.reason;
  if (needsRoot && !isRoot) return 'needs root (network namespaces)';
  return undefined;
}

export function describeFollowing(title: string, needsRoot: boolean, start: (api: ApiCluster) => Promise<FollowingVerb>): void {
  const skip = skipReason(needsRoot);
  if (skip) console.log(`${title} skipped: ${skip}`);

  describe.skipIf(skip !== undefined)(title, () => {
    let api: ApiCluster;
    let verb: FollowingVerb | undefined;
    let clusterIP = '';
    const served = (port: number) => verb!.observe(clusterIP, port);
    const assertRunning = () => {
      const p = verb!.process;
      if (p.child.exitCode !== null) throw new Error(`the verb exited ${p.child.exitCode}:\n${p.output()}`);
    };
    /** The verb reports the outage (its diagnostics, as a line of its output) and that it keeps serving. */
    const outageReported = (from: number) => verb!.process.waitFor(/retrying in \d+ ms, serving the last state/, from, 30_000);
    /** What the verb must serve on port 81 from the restart onwards. */
    const steps = WEB_STEPS.slice(0, -1);
    const deleted = WEB_STEPS.at(-1)!;

    beforeAll(async () => {
      api = await startApiCluster(title.split(' ')[0]!.replace(/\W/g, ''));
      verb = await start(api);
    }, 180_000);
    afterAll(async () => {
      await verb?.stop();
      await api?.stop();
    }, 60_000);

    it('follows creates, a scale-up, readiness flips, a terminating Pod, an update', async () => {
      let port = 0;
      for (const step of steps) {
        await applyStep(api.cluster, step);
        clusterIP ||= await webClusterIP(api.cluster);
        await converges(`${step.name}: served on :${step.port}`, () => served(step.port!), servedIPs(step));
        if (port && port !== step.port) await converges(`${step.name}: nothing on the old port ${port}`, () => served(port), []);
        port = step.port!;
      }
      assertRunning();
    }, 240_000);

    it('keeps serving while kube-apiserver restarts, then follows changes made after', async () => {
      const before = servedIPs(steps.at(-1)!);
      expect((await served(81)).sort()).toEqual(before);
      const mark = verb!.process.lines.length;
      await api.cluster.restartApiserver(async () => {
        await expect(api.cluster.kubectl(['get', '--raw', '/readyz'])).rejects.toThrow();
        await outageReported(mark);
        expect((await served(81)).sort()).toEqual(before);
        await verb!.whileDisconnected?.(clusterIP);
      });
      await createWebPod(api.cluster, 'web-d', { ready: true });
      await waitForSlices(api.cluster, ['web-a', 'web-b', 'web-d'], ['web-c']);
      await converges('after the restart: web-d served', () => served(81), ips(['web-a', 'web-b', 'web-d']), 60_000);
      await verb!.whileDisconnected?.(clusterIP);
      assertRunning();
    }, 120_000);

    it('cut off through a compaction and a restart (410 Gone): serves the old state, then relists and converges', async () => {
      const before = ips(['web-a', 'web-b', 'web-d']);
      const mark = verb!.process.lines.length;
      await verb!.relay.cut();
      await setReady(api.cluster, 'web-a', false);
      await createWebPod(api.cluster, 'web-e', { ready: true });
      await waitForSlices(api.cluster, ['web-b', 'web-d', 'web-e'], ['web-c']);
      // Compacted in etcd and gone from the restarted apiserver's watch cache: a watch from the
      // verb's last resourceVersion can only get 410 Gone.
      await api.cluster.compactEtcd();
      await api.cluster.restartApiserver();
      expect((await served(81)).sort()).toEqual(before);
      await outageReported(mark);
      await verb!.whileDisconnected?.(clusterIP);
      const lists = api.lists('endpointslices');
      await verb!.relay.restore();
      await converges('after the relist', () => served(81), ips(['web-b', 'web-d', 'web-e']), 60_000);
      expect(api.lists('endpointslices')).toBeGreaterThan(lists);
      assertRunning();
    }, 120_000);

    it('stops serving a deleted Service', async () => {
      await applyStep(api.cluster, deleted);
      await converges('after the delete', () => served(81), []);
      assertRunning();
    }, 60_000);
  });
}
