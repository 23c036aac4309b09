/**
 * The playground on a laptop screen (1366x768) in real Chromium: one screenshot per tab and state
 * into test-artifacts/laptop-*.png (for a person to look at), plus what a person needs from them,
 * asserted: the validation message is on screen next to its line, nothing is cut off sideways,
 * the affinity table and the rules tabs show what the engine and the shared renderers compute in
 * Node, and the page fetches nothing but the files of its own folder.
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeManifests } from '../../host/browser/scenario.js';
import { renderRules } from '../../host/browser/rules-view.js';
import { decodeState } from '../../host/browser/url-state.js';
import { chromiumUnavailable, type Browser } from './browser/chromium.js';
import { simulateInNode } from './browser/node-simulation.js';
import { closePlayground, formInput, openPlayground, simulatedAfter, simulatedCount, type OpenPlayground } from './browser/page.js';
import { repoRoot, type ServedPlayground } from './browser/playground-build.js';

const skip = chromiumUnavailable();
const artifacts = join(repoRoot, 'test-artifacts');
const LAPTOP = { width: 1366, height: 768 };

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `laptop-${name}.png`) });
}

/** The element's box is wholly inside the viewport (the user sees it without scrolling). */
async function onScreen(page: Page, selector: string): Promise<boolean> {
  return page.$eval(selector, (e) => {
    const r = e.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
  });
}

/** Nothing on the page sticks out to the right: no sideways page scroll on a laptop. */
async function pageWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

/** Does `action` and waits for the simulation it sets off. */
async function afterSimulation(page: Page, action: () => Promise<unknown>): Promise<void> {
  const n = await simulatedCount(page);
  await action();
  await simulatedAfter(page, n);
}

async function showExample(page: Page, name: string): Promise<void> {
  await afterSimulation(page, () => page.selectOption('#example', name));
}

/** What a shared link must bring back: example, target, decision shown and its text, rules shown. */
function sharedState(page: Page) {
  return page.evaluate(() => ({
    example: (document.getElementById('example') as HTMLSelectElement).value,
    target: (document.getElementById('target') as HTMLSelectElement).value,
    step: (document.getElementById('step') as HTMLInputElement).value,
    text: document.getElementById('step-text')?.textContent,
    rules: document.getElementById('rules')?.textContent,
  }));
}

/** Picks the scheduler (the page re-simulates), then runs again with `seed`. */
async function simulateWith(page: Page, scheduler: string, seed: number): Promise<void> {
  await afterSimulation(page, () => page.selectOption('#scheduler', scheduler));
  await page.fill('#seed', `${seed}`);
  await afterSimulation(page, () => page.click('#run'));
}

describe.skipIf(skip !== null)(`playground on a 1366x768 laptop screen${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let open: OpenPlayground | undefined;
  let served: ServedPlayground;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    open = await openPlayground(LAPTOP, (b) => b.context.on('request', (r) => requested.push(r.url())));
    ({ served, browser, page } = open);
  });

  afterAll(() => closePlayground(open));

  it('first view: the editor, the services and the simulator controls fit the width', async () => {
    expect(await pageWidth(page)).toBeLessThanOrEqual(LAPTOP.width);
    for (const id of ['#manifests', '#services', '#target', '#run']) expect(await onScreen(page, id), id).toBe(true);
    // The endpoint list wraps after its commas rather than hiding its NODES column off to the side.
    expect(await page.$eval('#endpoints', (t) => t.parentElement!.scrollWidth <= t.parentElement!.clientWidth)).toBe(true);
    await shot(page, '1-overview');
  });

  it('a validation error: its message is on screen beside the editor, its line marked', async () => {
    const text = await page.$eval('#manifests', (e) => (e as HTMLTextAreaElement).value);
    const broken = text.replace('port: 80\n', 'port: 70000\n');
    expect(broken).not.toBe(text);
    const line = broken.split('\n').findIndex((l) => l.includes('port: 70000')) + 1;
    await page.fill('#manifests', broken);
    const item = page.locator('#diagnostics li.error[data-field="spec.ports[0].port"]');
    await item.waitFor();
    expect(await item.getAttribute('data-object')).toBe('Service "default/hostnames"');
    expect(Number(await item.getAttribute('data-line'))).toBe(line);
    // Follow the message's "line" button, as a person would: the line shows, marked, and the
    // message stays in view, without scrolling the page.
    await item.locator('button.goto').click();
    expect(await page.evaluate(() => scrollY)).toBe(0);
    expect(await onScreen(page, '#diagnostics li.error')).toBe(true);
    expect(await onScreen(page, `#gutter span:nth-child(${line})`)).toBe(true);
    expect(await page.$eval(`#gutter span:nth-child(${line})`, (e) => e.className)).toBe('err');
    // The simulator says why it has nothing to run: the error, not a missing Service type.
    expect(await page.$eval('#sim-summary', (e) => e.textContent)).toMatch(/validation error/);
    await shot(page, '2-validation');
    await afterSimulation(page, () => page.fill('#manifests', text));
    expect(await page.$eval('#diagnostic-count', (e) => e.textContent)).toBe('valid');
  });

  it('the simulator with ClientIP affinity: bars and affinity table equal the engine in Node', async () => {
    await showExample(page, 'session-affinity');
    const { manifests, node, input } = await formInput(page);
    const expected = await simulateInNode(manifests, node, input);
    expect(expected.sessionAffinity).toBe('ClientIP');
    expect(expected.affinity.length).toBe(input.clients);
    const bars = await page.$$eval('#bars tbody tr[data-backend]', (rows) => rows.map((r) => [r.getAttribute('data-backend'), Number(r.getAttribute('data-connections'))]));
    expect(bars).toEqual(expected.backends.map((b) => [b.backend, b.connections]));
    const affinity = await page.$$eval('#affinity tbody tr', (rows) => rows.map((r) => Array.from(r.children, (c) => c.textContent)));
    expect(affinity).toEqual(expected.affinity.map((a) => [a.client, a.backend, String(a.hits)]));
    // Every client after its first connection was placed by its pin.
    expect(expected.affinity.every((a) => a.hits === Math.ceil((input.requests - expected.affinity.indexOf(a)) / input.clients) - 1)).toBe(true);
    // The skip link brings the simulator into view; bars and affinity table are side by side.
    await page.focus('a.skip');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'simulator');
    expect(await onScreen(page, '#bars')).toBe(true);
    expect(await onScreen(page, '#affinity-title')).toBe(true);
    expect(await pageWidth(page)).toBeLessThanOrEqual(LAPTOP.width);
    await shot(page, '3-simulator-affinity');
  });

  it('the step-through: next and previous move one decision and explain it', async () => {
    await showExample(page, 'hostnames');
    await simulateWith(page, 'sh', 7);
    const { manifests, node, input } = await formInput(page);
    const expected = await simulateInNode(manifests, node, input);
    await page.click('#step-next');
    await page.click('#step-next');
    await page.click('#step-prev');
    expect(await page.$eval('#step', (e) => (e as HTMLInputElement).value)).toBe('2');
    const d = expected.decisions[1]!;
    expect(d.reason).toMatch(/^sh bucket \d+$/);
    expect(await page.$eval('#step-text', (e) => e.textContent)).toBe(`client ${d.client}:${d.clientPort} → ${d.service} → ${d.backend}, because ${d.reason}`);
    expect(await page.$eval('#bars tr.current', (e) => e.getAttribute('data-backend'))).toBe(d.backend);
    await page.$eval('#steps-title', (e) => e.scrollIntoView({ block: 'start' }));
    expect(await onScreen(page, '#step-text')).toBe(true);
    await shot(page, '4-step-through');
  });

  for (const mode of ['iptables', 'nftables', 'ipvs'] as const) {
    it(`the ${mode} tab shows the shared renderer's output for the page's model`, async () => {
      await page.click(`#tab-${mode}`);
      const { manifests, node } = await formInput(page);
      const shown = await page.$eval('#rules', (e) => e.textContent);
      expect(shown).toBe(renderRules(analyzeManifests(manifests, node).model, mode));
      await page.$eval('#rules-title', (e) => e.scrollIntoView({ block: 'start' }));
      expect(await onScreen(page, '#tab-ipvs')).toBe(true);
      expect(await pageWidth(page)).toBeLessThanOrEqual(LAPTOP.width);
      await shot(page, `5-rules-${mode}`);
    });
  }

  it('every shipped example loads valid, lists its Services and simulates as Node does', async () => {
    const names = await page.$$eval('#example option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(names.slice(0, 6)).toEqual(['hostnames', 'nodeport', 'headless', 'externalname', 'session-affinity', 'local-policy']);
    for (const name of names) {
      const before = await simulatedCount(page);
      await page.selectOption('#example', name);
      const text = await page.$eval('#manifests', (e) => (e as HTMLTextAreaElement).value);
      const node = await page.$eval('#node', (e) => (e as HTMLSelectElement).value);
      const analysis = analyzeManifests(text, node);
      expect(await page.$eval('#diagnostic-count', (e) => e.textContent), name).toBe('valid');
      const listed = await page.$$eval('#services tbody tr', (rows) => rows.map((r) => r.children[1]?.textContent));
      expect(listed, name).toEqual(analysis.services.map((s) => s.name));
      const endpoints = await page.$$eval('#endpoints tbody tr', (rows) => rows.map((r) => r.children[1]?.textContent));
      expect(endpoints, name).toEqual(analysis.services.map((s) => s.name));
      if (analysis.model.servicePorts.length === 0) {
        // Headless and ExternalName: kube-proxy installs nothing, and the page says so.
        expect(await page.$eval('#sim-summary', (e) => e.textContent), name).toMatch(/headless and ExternalName Services have none/);
        expect(await page.$eval('#rules', (e) => e.textContent), name).not.toMatch(/-j KUBE-SVC-|10\.\d+\.\d+\.\d+:\d+/);
        continue;
      }
      await simulatedAfter(page, before);
      const { manifests, node: n, input } = await formInput(page);
      const expected = await simulateInNode(manifests, n, input);
      const bars = await page.$$eval('#bars tbody tr[data-backend]', (rows) => rows.map((r) => [r.getAttribute('data-backend'), Number(r.getAttribute('data-connections'))]));
      expect(bars, name).toEqual(expected.backends.map((b) => [b.backend, b.connections]));
    }
  });

  it('Local external traffic policy through the NodePort: only the local endpoint gets connections', async () => {
    await showExample(page, 'local-policy');
    const nodePort = await page.$$eval('#target option', (os) => os.map((o) => (o as HTMLOptionElement).value).find((v, i) => /web-local.*NodePort/.test(os[i]!.textContent ?? '')));
    expect(nodePort).toBeDefined();
    const n = await simulatedCount(page);
    await page.selectOption('#target', nodePort!);
    await simulatedAfter(page, n);
    const { manifests, node, input } = await formInput(page);
    const expected = await simulateInNode(manifests, node, input);
    expect(expected.traffic).toBe('external');
    const rows = await page.$$eval('#bars tbody tr[data-backend]', (rs) => rs.map((r) => ({ connections: Number(r.getAttribute('data-connections')), tags: r.querySelector('small.tags')?.textContent ?? '' })));
    expect(rows.map((r) => r.connections)).toEqual(expected.backends.map((b) => b.connections));
    expect(expected.backends.filter((b) => b.connections > 0).every((b) => b.local)).toBe(true);
    expect(rows.filter((r) => r.connections === 0).every((r) => r.tags.includes('not used for external traffic'))).toBe(true);
    expect(rows.reduce((s, r) => s + r.connections, 0)).toBe(input.requests);
    await page.$eval('#simulator', (e) => e.scrollIntoView({ block: 'start' }));
    await shot(page, '6-local-policy-nodeport');
  });

  it('a shared link restores the example, target, scheduler, seed, decision and rules tab; it keeps working offline', async () => {
    await simulateWith(page, 'mh', 99);
    await page.click('#step-next');
    await page.click('#step-next');
    await page.click('#tab-nftables');
    const want = await sharedState(page);
    expect(want.step).toBe('3');
    // The fragment is written 150 ms after the last change: wait until it holds every change of
    // this test (a fragment from an earlier one may already say nftables, so rules alone is not enough).
    await expect.poll(async () => {
      const s = await decodeState(new URL(page.url()).hash, '', [want.example]);
      return `${s.example} ${s.scheduler} ${s.seed} ${s.rules}`;
    }, { timeout: 5_000 }).toBe(`${want.example} mh 99 nftables`);
    const second = await browser.newPage();
    try {
      await second.goto(page.url());
      await second.waitForSelector('body[data-ready="true"]');
      const got = await sharedState(second);
      expect(got).toEqual(want);
      expect(await second.$eval('#tab-nftables', (e) => e.getAttribute('aria-selected'))).toBe('true');
      expect(await second.$eval('#seed', (e) => (e as HTMLInputElement).value)).toBe('99');
      expect(await second.$eval('#scheduler', (e) => (e as HTMLSelectElement).value)).toBe('mh');
      // Loaded once, the page needs no network at all: edit and re-simulate with the network off.
      await browser.context.setOffline(true);
      const m = Number(await second.evaluate(() => document.body.dataset['simulated']));
      await second.fill('#clients', '3');
      await second.click('#run');
      await second.waitForFunction((x) => Number(document.body.dataset['simulated']) > x, m);
      const { manifests, node, input } = await formInput(second);
      expect(input.clients).toBe(3);
      const expected = await simulateInNode(manifests, node, input);
      const bars = await second.$$eval('#bars tbody tr[data-backend]', (rows) => rows.map((r) => Number(r.getAttribute('data-connections'))));
      expect(bars).toEqual(expected.backends.map((b) => b.connections));
    } finally {
      await browser.context.setOffline(false);
      await second.close();
    }
  });

  it('keyboard: Tab indents in the editor, Esc then Tab leaves it; Enter on a control re-runs', async () => {
    await page.focus('#manifests');
    await page.$eval('#manifests', (e) => (e as HTMLTextAreaElement).setSelectionRange(0, 0));
    const before = await page.$eval('#manifests', (e) => (e as HTMLTextAreaElement).value);
    const edited = await simulatedCount(page);
    await page.keyboard.press('Tab');
    expect(await page.$eval('#manifests', (e) => (e as HTMLTextAreaElement).value)).toBe(`  ${before}`);
    await simulatedAfter(page, edited); // the edit is applied (and simulated) 300 ms later
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('manifests');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).not.toBe('manifests');
    const n = await simulatedCount(page);
    await page.focus('#requests');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('40');
    await page.keyboard.press('Enter');
    await simulatedAfter(page, n);
    expect(await page.$eval('#sim-summary', (e) => e.textContent)).toMatch(/^40 connections to /);
    expect(await page.$eval('#step-of', (e) => e.textContent)).toBe('of 40');
  });

  it('builds a self-contained folder whose page may load nothing from elsewhere', () => {
    expect(readdirSync(served.dir).sort()).toEqual(['engine.wasm', 'index.html', 'playground.css', 'playground.js', 'playground.js.map']);
    const html = readFileSync(join(served.dir, 'index.html'), 'utf8');
    expect(html).toContain(`content="default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'"`);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('fetched only the files of its own folder and logged no errors', () => {
    const files = new Set(readdirSync(served.dir));
    const paths = [...new Set(requested.map((u) => new URL(u)))].map((u) => `${u.origin === new URL(served.url).origin ? '' : u.origin}${u.pathname}`);
    const outside = paths.filter((p) => p !== '/' && !files.has(p.slice(1)));
    expect(outside).toEqual([]);
    expect(new Set(paths)).toEqual(new Set(['/', '/playground.css', '/playground.js', '/engine.wasm']));
    expect(browser.problems).toEqual([]);
  });
});
