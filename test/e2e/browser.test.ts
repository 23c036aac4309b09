/**
 * The playground in real Chromium: the page built by host/browser/build.mjs, served by
 * `vipwasm playground`'s server, runs engine.wasm and must show exactly what the engine computes in
 * Node for the same manifests, seed and inputs.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeState } from '../../host/browser/url-state.js';
import { chromiumUnavailable, type Browser } from './browser/chromium.js';
import { simulateInNode } from './browser/node-simulation.js';
import { closePlayground, formInput, openPlayground, simulatedAfter, simulatedCount, type OpenPlayground } from './browser/page.js';
import { repoRoot, type ServedPlayground } from './browser/playground-build.js';

const skip = chromiumUnavailable();
const artifacts = join(repoRoot, 'test-artifacts');

/** Four endpoints behind one port, written here so the test does not depend on the examples. */
const EDITED = `apiVersion: v1
kind: Service
metadata:
  name: shop
  namespace: default
spec:
  clusterIP: 10.96.7.7
  ports:
  - name: http
    port: 8080
    targetPort: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: shop-1
  namespace: default
  labels:
    kubernetes.io/service-name: shop
addressType: IPv4
ports:
- name: http
  port: 80
  protocol: TCP
endpoints:
- addresses: ["198.18.1.4"]
- addresses: ["198.18.1.2"]
- addresses: ["198.18.1.3"]
- addresses: ["198.18.1.1"]
`;

interface PageBar {
  backend: string;
  connections: number;
}

async function bars(page: Page): Promise<PageBar[]> {
  return page.$$eval('#bars tbody tr[data-backend]', (rows) =>
    rows.map((r) => ({ backend: r.getAttribute('data-backend') ?? '', connections: Number(r.getAttribute('data-connections')) })),
  );
}

async function expectPageMatchesNode(page: Page, alsoWithDefaultTables = false): Promise<PageBar[]> {
  const { manifests, node, input } = await formInput(page);
  const shown = await bars(page);
  const expected = await simulateInNode(manifests, node, input);
  expect(shown).toEqual(expected.backends.map((b) => ({ backend: b.backend, connections: b.connections })));
  expect(shown.reduce((n, b) => n + b.connections, 0)).toBe(expected.counts.backend);
  if (alsoWithDefaultTables) {
    // The page sizes the engine's tables to the run; the engine's defaults give the same decisions.
    const big = await simulateInNode(manifests, node, input, true);
    expect(big.backends).toEqual(expected.backends);
    expect(big.decisions).toEqual(expected.decisions);
  }
  return shown;
}

describe.skipIf(skip !== null)(`playground in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let open: OpenPlayground | undefined;
  let served: ServedPlayground;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    open = await openPlayground();
    ({ served, browser, page } = open);
  });

  afterAll(() => closePlayground(open));

  it('loads the seed example, its service table and a first simulation equal to the engine in Node', async () => {
    expect(await page.$eval('#engine-status', (e) => e.textContent)).toMatch(/engine\.wasm loaded/);
    expect(await page.$eval('#example', (e) => (e as HTMLSelectElement).value)).toBe('hostnames');
    expect(await page.$eval('#services', (e) => e.textContent)).toContain('hostnames');
    const shown = await expectPageMatchesNode(page);
    expect(shown.length).toBe(3);
    expect(await page.$eval('#step-text', (e) => e.textContent)).toMatch(/^client 198\.18\.0\.1:\d+ → default\/hostnames\S* → [\d.]+:9376, because /);
  });

  it('re-simulates an edited manifest with the sh scheduler exactly as Node does', async () => {
    let n = await simulatedCount(page);
    await page.fill('#manifests', EDITED);
    n = await simulatedAfter(page, n);
    await page.selectOption('#scheduler', 'sh');
    n = await simulatedAfter(page, n);
    await page.fill('#clients', '37');
    await page.fill('#requests', '500');
    await page.fill('#seed', '42');
    await page.click('#run');
    await simulatedAfter(page, n);
    expect(await page.$eval('#target', (e) => (e as HTMLSelectElement).value)).toBe('10.96.7.7|8080|TCP');
    const shown = await expectPageMatchesNode(page, true);
    expect(shown.map((b) => b.backend)).toEqual(['198.18.1.1:80', '198.18.1.2:80', '198.18.1.3:80', '198.18.1.4:80']);
    expect(shown.reduce((s, b) => s + b.connections, 0)).toBe(500);
    // sh: 37 clients each hash to one bucket, so the step-through names the bucket.
    expect(await page.$eval('#step-text', (e) => e.textContent)).toMatch(/→ default\/shop:http → 198\.18\.1\.\d:80, because sh bucket \d+$/);
  });

  it('shows a validation error next to the object and the field it is about', async () => {
    const broken = EDITED.replace('    port: 8080', '    port: 70000');
    const line = broken.split('\n').findIndex((l) => l.includes('port: 70000')) + 1;
    await page.fill('#manifests', broken);
    const item = page.locator('#diagnostics li.error[data-field="spec.ports[0].port"]');
    await item.waitFor();
    expect(await item.getAttribute('data-object')).toBe('Service "default/shop"');
    expect(Number(await item.getAttribute('data-line'))).toBe(line);
    expect(await item.textContent()).toMatch(/70000/);
    expect(await page.$eval(`#gutter span:nth-child(${line})`, (e) => e.className)).toBe('err');
    mkdirSync(artifacts, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(artifacts, 'playground-validation.png') });
    await item.locator('button.goto').click();
    const caretLine = await page.$eval('#manifests', (e) => {
      const t = e as HTMLTextAreaElement;
      return t.value.slice(0, t.selectionStart).split('\n').length;
    });
    expect(caretLine).toBe(line);
  });

  it('lists what diagnose finds, and its line button selects the offending line in the editor', async () => {
    const text = [
      'apiVersion: v1', 'kind: Service', 'metadata: { name: lost, namespace: default }', 'spec:', '  selector: { app: nothing }', '  ports: [{ port: 80 }]',
      '---', 'apiVersion: v1', 'kind: Pod', 'metadata: { name: web-1, namespace: default, labels: { app: web } }',
      'spec: { nodeName: node-1, containers: [{ name: c, image: x }] }', 'status: { phase: Running, podIP: 198.18.1.9, conditions: [{ type: Ready, status: "True" }] }',
    ].join('\n');
    await page.fill('#manifests', text);
    const item = page.locator('#findings li[data-code="SelectorMatchesNoPod"]');
    await item.waitFor();
    expect(await item.getAttribute('data-object')).toBe('Service "default/lost"');
    expect(await item.getAttribute('data-field')).toBe('spec.selector');
    expect(Number(await item.getAttribute('data-line'))).toBe(5);
    expect(await item.textContent()).toContain('fix: label the Pods app=nothing');
    expect(await page.$eval('#finding-count', (e) => e.textContent)).toBe('1 finding');
    await item.locator('button.goto').click();
    const selected = await page.$eval('#manifests', (e) => {
      const t = e as HTMLTextAreaElement;
      return { line: t.value.slice(0, t.selectionStart).split('\n').length, text: t.value.slice(t.selectionStart, t.selectionEnd) };
    });
    expect(selected).toEqual({ line: 5, text: '  selector: { app: nothing }' });
    // Fixed: the panel says so.
    await page.fill('#manifests', text.replace('app: nothing', 'app: web'));
    await page.locator('#findings li.ok').waitFor();
  });

  it('keeps the scenario in the URL: a reload shows the same manifests and the same bars', async () => {
    let n = await simulatedCount(page);
    await page.fill('#manifests', EDITED);
    n = await simulatedAfter(page, n);
    await page.selectOption('#scheduler', 'mh');
    await simulatedAfter(page, n);
    const before = await bars(page);
    // The fragment is written 150 ms after the last change: wait until it holds both changes.
    await expect
      .poll(async () => {
        const s = await decodeState(new URL(page.url()).hash, '', []);
        return [s.manifests, s.scheduler];
      }, { timeout: 5_000 })
      .toEqual([EDITED, 'mh']);
    const url = page.url();
    const second = await browser.newPage();
    await second.goto(url);
    await second.waitForSelector('body[data-ready="true"]');
    expect(await second.$eval('#manifests', (e) => (e as HTMLTextAreaElement).value)).toBe(EDITED);
    expect(await second.$eval('#scheduler', (e) => (e as HTMLSelectElement).value)).toBe('mh');
    expect(await bars(second)).toEqual(before);
    await expectPageMatchesNode(second);
    await second.close();
  });

  it('is usable from the keyboard: rules tabs move with arrow keys and show the renderers output', async () => {
    await page.focus('#tab-iptables');
    await page.click('#tab-iptables');
    expect(await page.$eval('#rules', (e) => e.textContent)).toContain('KUBE-SERVICES');
    await page.keyboard.press('ArrowRight');
    expect(await page.$eval('#tab-nftables', (e) => e.getAttribute('aria-selected'))).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-nftables');
    expect(await page.$eval('#rules', (e) => e.textContent)).toMatch(/table ip kube-proxy|add table ip kube-proxy/);
    await page.keyboard.press('ArrowRight');
    expect(await page.$eval('#rules', (e) => e.textContent)).toMatch(/-A -t 10\.96\.7\.7:8080/);
    // The step-through follows the arrow keys on the decisions table.
    await page.focus('#decisions');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.$eval('#step', (e) => (e as HTMLInputElement).value)).toBe('3');
    const third = await page.$eval('#decisions tbody tr:nth-child(3)', (e) => [e.className, e.children[1]?.textContent]);
    expect(third[0]).toBe('current');
    expect(await page.$eval('#step-text', (e) => e.textContent)).toContain(`client ${third[1]} →`);
    // Every form control has an accessible name.
    const unnamed = await page.$$eval('input, select, textarea, button', (els) =>
      els.filter((e) => !(e as HTMLInputElement).labels?.length && !e.getAttribute('aria-label') && !e.textContent?.trim()).map((e) => e.id),
    );
    expect(unnamed).toEqual([]);
  });

  it('renders without console errors and leaves a screenshot to look at', async () => {
    mkdirSync(artifacts, { recursive: true });
    await page.selectOption('#example', 'hostnames');
    await page.waitForFunction(() => document.querySelectorAll('#bars tbody tr[data-backend]').length === 3);
    await page.selectOption('#scheduler', '');
    await page.waitForFunction(() => document.getElementById('step-text')?.textContent?.includes('because rr'));
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(artifacts, 'playground.png') });
    await page.click('#tab-ipvs');
    await page.screenshot({ path: join(artifacts, 'playground-rules.png') });
    expect(browser.problems).toEqual([]);
  });
});
