/**
 * The browser path: loadEngineFromBytes over @bjorn3/browser_wasi_shim gives the same decisions as
 * the node:wasi path, and host/engine/browser.ts bundles for the browser with no node: imports.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { loadEngineFromBytes } from '../../host/engine/browser.js';
import { engineWasmPath, loadEngine } from '../../host/engine/node.js';
import { Verdict } from '../../host/engine/api.js';
import { abc, backend, ip, model, servicePort, TCP } from './fixtures.js';

describe('browser loader', () => {
  it('decides exactly as the Node loader does', async () => {
    const m = model([
      servicePort('web', { clusterIPs: ['10.96.0.10', 'fd00::10'], scheduler: 'wlc', backends: [...abc(), backend('fd00:1::1'), backend('fd00:1::2')] }),
      servicePort('hash', { clusterIPs: ['10.96.0.11'], scheduler: 'mh', backends: abc() }),
    ]);
    const browser = await loadEngineFromBytes(readFileSync(engineWasmPath()), { flowCapacity: 1024 });
    const node = await loadEngine({ flowCapacity: 1024 });
    browser.load(m);
    node.load(m);
    const picks = (engine: typeof node) => {
      const out: string[] = [];
      for (let i = 0; i < 50; i++) {
        const dst = ['10.96.0.10', 'fd00::10', '10.96.0.11'][i % 3]!;
        const src = dst.includes(':') ? `2001:db8::${i}` : `172.16.0.${i}`;
        const d = engine.connect(TCP, ip(src), 1000 + i, ip(dst), 80, i);
        out.push(`${d.verdict}:${d.servicePortIndex}:${d.backendIndex}:${d.detail}`);
      }
      return out;
    };
    const fromBrowser = picks(browser);
    expect(fromBrowser).toEqual(picks(node));
    expect(fromBrowser.every((s) => s.startsWith(`${Verdict.Backend}:`))).toBe(true);
    expect(browser.stats().flows).toBe(50);
  });

  it('bundles for the browser without node: imports', async () => {
    const entry = fileURLToPath(new URL('../../host/engine/browser.ts', import.meta.url));
    const out = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    const text = out.outputFiles[0]!.text;
    expect(text).toContain('loadEngineFromBytes');
    expect(text).not.toMatch(/from ["']node:/);
  });
});
