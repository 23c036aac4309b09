/**
 * The changes every "API source, for real" suite makes with kubectl to the `web` Service and its
 * Pods, in order, and which Pods must then be served (kube-proxy's rule: the ready endpoints, or
 * when none is ready the serving-and-terminating ones, KEP-1669). Each step waits for the real
 * EndpointSlice controller to have written the slices before a verb is checked, so a failure
 * points at vipwasm, not at the controller's latency.
 */
import type { Cluster } from '../../scripts/k8s/cluster.js';
import { until } from '../../scripts/k8s/proxies.js';
import { createWebPod, ips, setReady, terminatePod, waitForSlices, webService } from './api-cluster.js';

export interface WebStep {
  readonly name: string;
  run(cluster: Cluster): Promise<void>;
  /** The Service port after the step; null once the Service is deleted. */
  readonly port: number | null;
  /** Pods the controller lists as ready, and as serving-and-terminating, after the step. */
  readonly ready: string[];
  readonly servingTerminating: string[];
}

export const WEB_STEPS: readonly WebStep[] = [
  {
    name: 'create: the Service and two ready Pods', port: 80, ready: ['web-a', 'web-b'], servingTerminating: [],
    async run(c) {
      await c.apply(JSON.stringify(webService(80)));
      await createWebPod(c, 'web-a', { ready: true });
      await createWebPod(c, 'web-b', { ready: true });
    },
  },
  {
    name: 'scale-up: a third ready Pod', port: 80, ready: ['web-a', 'web-b', 'web-c'], servingTerminating: [],
    run: (c) => createWebPod(c, 'web-c', { ready: true, finalizer: true }),
  },
  { name: 'readiness flip: web-b not ready', port: 80, ready: ['web-a', 'web-c'], servingTerminating: [], run: (c) => setReady(c, 'web-b', false) },
  { name: 'readiness flip: web-b ready again', port: 80, ready: ['web-a', 'web-b', 'web-c'], servingTerminating: [], run: (c) => setReady(c, 'web-b', true) },
  { name: 'terminating: web-c deleted, kept by its finalizer', port: 80, ready: ['web-a', 'web-b'], servingTerminating: ['web-c'], run: (c) => terminatePod(c, 'web-c') },
  {
    name: 'no ready Pod left: the serving terminating web-c is used', port: 80, ready: [], servingTerminating: ['web-c'],
    async run(c) {
      await setReady(c, 'web-a', false);
      await setReady(c, 'web-b', false);
    },
  },
  {
    name: 'web-a and web-b ready again', port: 80, ready: ['web-a', 'web-b'], servingTerminating: ['web-c'],
    async run(c) {
      await setReady(c, 'web-a', true);
      await setReady(c, 'web-b', true);
    },
  },
  { name: 'update: the Service port 80 → 81', port: 81, ready: ['web-a', 'web-b'], servingTerminating: ['web-c'], run: (c) => c.apply(JSON.stringify(webService(81))).then(() => undefined) },
  { name: 'delete: the Service', port: null, ready: [], servingTerminating: [], run: (c) => c.kubectl(['delete', 'service', '-n', 'default', 'web']).then(() => undefined) },
];

/** The Pod IPs served after a step: ready ones, else serving-terminating ones. */
export function servedIPs(step: Pick<WebStep, 'ready' | 'servingTerminating'>): string[] {
  return ips(step.ready.length ? step.ready : step.servingTerminating);
}

/** Runs a step and waits for the controller to reflect it. */
export async function applyStep(cluster: Cluster, step: WebStep): Promise<void> {
  await step.run(cluster);
  if (step.port !== null) await waitForSlices(cluster, step.ready, step.servingTerminating);
}

/**
 * Waits until `observe(port)` (the backend IPs a verb serves on the web ClusterIP at that port)
 * equals `want`; the error shows the last observation.
 */
export async function converges(what: string, observe: () => Promise<string[]>, want: string[], timeoutMs = 30_000): Promise<void> {
  let last: string[] = [];
  const target = JSON.stringify([...want].sort());
  await until(what, async () => {
    last = [...(await observe())].sort();
    return JSON.stringify(last) === target;
  }, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}: want ${target}, last saw ${JSON.stringify(last)}`);
  });
}
