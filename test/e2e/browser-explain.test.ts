/**
 * The playground's explain trace in real Chromium (issue 13): clicking a decision under
 * "Decisions, one by one" shows its trace, computed by host/explain on the page's engine.wasm, and
 * it names the same backend, scheduler and scheduler arithmetic as `vipwasm explain` in Node for
 * the same manifests and the same sequence of clients.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress } from '../../host/browser/simulate.js';
import { chromiumUnavailable } from './browser/chromium.js';
import { closePlayground, formInput, openPlayground, simulatedAfter, simulatedCount, type OpenPlayground } from './browser/page.js';
import { runCli } from '../cli/run-cli.js';
import { repoRoot } from './browser/playground-build.js';

const skip = chromiumUnavailable();
const tmp = mkdtempSync(join(tmpdir(), 'vipwasm-browser-explain-'));

const SHOP = `apiVersion: v1
kind: Service
metadata: { name: shop, namespace: default }
spec: { clusterIP: 10.96.7.7, ports: [{ name: http, port: 8080, targetPort: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: shop-1
  namespace: default
  labels: { kubernetes.io/service-name: shop }
  annotations: { vipwasm.io/weights: "198.18.1.1=3, 198.18.1.2=1, 198.18.1.3=2" }
addressType: IPv4
ports: [{ name: http, port: 80, protocol: TCP }]
endpoints:
- addresses: ["198.18.1.3"]
- addresses: ["198.18.1.2"]
- addresses: ["198.18.1.1"]
`;

interface PageTrace {
  decision: string;
  backend: string;
  scheduler: string;
  schedulerLines: string[];
  steps: string[];
}

async function pageTrace(page: Page, decision: number): Promise<PageTrace> {
  await page.waitForSelector(`#explain-trace[data-decision="${decision}"]`);
  return page.$eval('#explain-trace', (box) => ({
    decision: box.getAttribute('data-decision') ?? '',
    backend: box.getAttribute('data-backend') ?? '',
    scheduler: box.getAttribute('data-scheduler') ?? '',
    schedulerLines: Array.from(box.querySelectorAll('li[data-step="scheduler"] li')).map((li) => li.textContent ?? ''),
    steps: Array.from(box.querySelectorAll('ol > li')).map((li) => li.getAttribute('data-step') ?? ''),
  }));
}

describe.skipIf(skip !== null)(`playground explain in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let open: OpenPlayground | undefined;
  let page: Page;

  beforeAll(async () => {
    open = await openPlayground();
    ({ page } = open);
  });

  afterAll(async () => {
    await closePlayground(open);
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const scheduler of ['wlc', 'wrr'] as const) {
    it(`clicking a decision shows the trace Node's explain gives (${scheduler})`, async () => {
      let n = await simulatedCount(page);
      await page.fill('#manifests', SHOP);
      n = await simulatedAfter(page, n);
      await page.selectOption('#scheduler', scheduler);
      n = await simulatedAfter(page, n);
      await page.fill('#clients', '3');
      await page.fill('#requests', '12');
      await page.fill('#seed', '0');
      await page.click('#run');
      await simulatedAfter(page, n);
      const { node, input } = await formInput(page);
      expect(input.target).toEqual({ ip: '10.96.7.7', port: 8080, protocol: 'TCP' });

      // Click the 6th decision row: the page steps to it and explains it.
      await page.click('#decisions tbody tr:nth-child(6)');
      const shown = await pageTrace(page, 6);
      expect(await page.$eval('#step', (e) => (e as HTMLInputElement).value)).toBe('6');
      const row = await page.$eval('#decisions tbody tr:nth-child(6)', (e) => e.children[2]?.textContent ?? '');
      expect(shown.backend).toBe(row);
      expect(shown.scheduler).toBe(scheduler);
      expect(shown.steps).toEqual(['flow', 'match', 'traffic-policy', 'endpoints', 'scheduler', 'verdict']);

      // Node: the same six connections through `vipwasm explain` (same clients, ports, times).
      const file = join(tmp, `${scheduler}.yaml`);
      writeFileSync(file, SHOP);
      const from = Array.from({ length: 6 }, (_, r) => ['--from', clientAddress(r % input.clients, 4).text]).flat();
      const cli = await runCli(['explain', '-f', file, '--to', '10.96.7.7:8080', '--scheduler', scheduler, ...(node ? ['--node-name', node] : []), ...from, '-o', 'json']);
      expect(cli.stderr).toBe('');
      const last = (JSON.parse(cli.stdout) as { traces: { backend: string; scheduler: string; steps: { step: string; lines: string[] }[] }[] }).traces[5]!;
      expect(shown.backend).toBe(last.backend);
      expect(shown.scheduler).toBe(last.scheduler);
      expect(shown.schedulerLines).toEqual(last.steps.find((s) => s.step === 'scheduler')!.lines);
      expect(shown.schedulerLines.length).toBeGreaterThan(1);
      mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
      await page.locator('#explain-trace').screenshot({ path: join(repoRoot, 'test-artifacts', `playground-explain-${scheduler}.png`) });
    });
  }
});
