/**
 * What the Chromium tests read from and wait for on the playground page, shared by every browser
 * test file: the page opened on a fresh build, the simulation counter it bumps, its form inputs.
 */
import type { Page } from 'playwright-core';
import type { SimulationInput } from '../../../host/browser/simulate.js';
import { parseTargetValue } from '../../../host/browser/targets.js';
import { launchChromium, type Browser } from './chromium.js';
import { buildAndServePlayground, type ServedPlayground } from './playground-build.js';

export interface OpenPlayground {
  readonly served: ServedPlayground;
  readonly browser: Browser;
  readonly page: Page;
}

/**
 * Builds and serves the playground, opens it in Chromium at `viewport` and waits until it is
 * ready. `beforeOpen` sees the browser before the first navigation (to record requests, say).
 */
export async function openPlayground(viewport?: { width: number; height: number }, beforeOpen?: (b: Browser) => void): Promise<OpenPlayground> {
  const served = await buildAndServePlayground();
  const browser = await launchChromium(viewport);
  beforeOpen?.(browser);
  const page = await browser.newPage();
  await page.goto(served.url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return { served, browser, page };
}

export async function closePlayground(open: OpenPlayground | undefined): Promise<void> {
  await open?.browser.close();
  await open?.served.close();
}

/** How many simulations the page has finished (it bumps body[data-simulated] after each). */
export async function simulatedCount(page: Page): Promise<number> {
  return Number(await page.evaluate(() => document.body.dataset['simulated'] ?? '0'));
}

/** Waits until the page has finished one more simulation than `before`; returns the new count. */
export async function simulatedAfter(page: Page, before: number): Promise<number> {
  await page.waitForFunction((n) => Number(document.body.dataset['simulated'] ?? '0') > n, before);
  return simulatedCount(page);
}

/** The simulation inputs exactly as the page's form holds them. */
export async function formInput(page: Page): Promise<{ manifests: string; node: string; input: SimulationInput }> {
  const v = await page.evaluate(() => {
    const val = (id: string): string => (document.getElementById(id) as HTMLInputElement).value;
    return {
      manifests: val('manifests'),
      node: val('node'),
      target: val('target'),
      clients: val('clients'),
      requests: val('requests'),
      scheduler: val('scheduler'),
      seed: val('seed'),
      close: (document.getElementById('close') as HTMLInputElement).checked,
    };
  });
  const target = parseTargetValue(v.target);
  if (!target) throw new Error(`the page offers no target: "${v.target}"`);
  return {
    manifests: v.manifests,
    node: v.node,
    input: {
      target,
      clients: Number(v.clients),
      requests: Number(v.requests),
      scheduler: (v.scheduler || undefined) as SimulationInput['scheduler'],
      seed: Number(v.seed),
      close: v.close,
    },
  };
}
