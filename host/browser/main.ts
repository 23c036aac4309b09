/**
 * The playground page: manifests → model (host/model) → tables, rules (host/rules) and a traffic
 * simulation on engine.wasm (host/engine/browser.ts), with the whole scenario kept in the URL.
 */
import examples from 'vipwasm:examples';
import { SCHEDULERS, type SchedulerName } from '../engine/model.js';
import { loadEngineFromBytes } from '../engine/browser.js';
import { byId, el } from './dom.js';
import { ManifestEditor, placeDiagnostics } from './editor-view.js';
import { renderFindings } from './diagnose-view.js';
import { renderEndpoints, renderServices } from './services-view.js';
import { NO_NODE, analyzeManifests, type Analysis } from './scenario.js';
import { simulate, simulationEngineOptions, validateSimulationInput, type SimulationInput, type SimulationResult } from './simulate.js';
import { SimulatorView } from './simulator-view.js';
import { ExplainView } from './explain-view.js';
import { explainSimulatedDecision } from './explain-decision.js';
import { RulesView } from './rules-view.js';
import { parseTargetValue, targetOptions } from './targets.js';
import { decodeState, encodeState, type PlaygroundState } from './url-state.js';

const EDIT_DEBOUNCE_MS = 300;

const names = examples.map((e) => e.name);
const exampleText = (name: string): string => examples.find((e) => e.name === name)?.text ?? '';

let state: PlaygroundState;
let analysis: Analysis | null = null;
/** engine.wasm, compiled once; each simulation instantiates a fresh engine from it. */
let wasm: WebAssembly.Module | null = null;
let wasmBytes = 0;
let lastResult: SimulationResult | null = null;
/** The input of lastResult, to replay for an explain trace. */
let lastInput: SimulationInput | null = null;

const status = byId('engine-status');
const exampleSelect = byId<HTMLSelectElement>('example');
const nodeSelect = byId<HTMLSelectElement>('node');
const targetSelect = byId<HTMLSelectElement>('target');
const form = byId<HTMLFormElement>('sim-form');
const simError = byId('sim-error');
const editor = new ManifestEditor(byId('manifests'), byId('gutter'), byId<HTMLUListElement>('diagnostics'), byId('diagnostic-count'));
const explainView = new ExplainView();
const simView = new SimulatorView((step) => {
  state.step = step;
  saveState();
  void explainStep(step);
});

/** Shows the explain trace of decision `step` of the last run, on a fresh engine (host/explain). */
let explains = 0;
async function explainStep(step: number): Promise<void> {
  const token = ++explains;
  const input = lastInput;
  const result = lastResult;
  if (!wasm || !analysis || !input || !result || step >= result.decisions.length) return explainView.clear();
  const request = result.decisions[step]!.request;
  try {
    const engine = await loadEngineFromBytes(wasm, simulationEngineOptions(input));
    if (token !== explains) return; // a newer run or step meanwhile
    explainView.show(explainSimulatedDecision(engine, analysis.model, input, request), request);
  } catch (err) {
    explainView.error(err instanceof Error ? err.message : String(err));
  }
  document.body.dataset['explained'] = String(Number(document.body.dataset['explained'] ?? '0') + 1);
}
let rulesView: RulesView;

function setStatus(text: string, kind: 'ok' | 'bad' | ''): void {
  status.textContent = text;
  status.className = `status ${kind}`;
}

let saveTimer: ReturnType<typeof setTimeout> | undefined;
/** Writes the state into the URL fragment (replaceState: editing must not flood the history). */
function saveState(): void {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    void encodeState(state).then((hash) => history.replaceState(null, '', hash));
  }, 150);
}

function fillExamples(): void {
  exampleSelect.replaceChildren(...examples.map((e) => el('option', { value: e.name }, e.title)));
}

function fillNodes(nodes: readonly string[], effective: string): void {
  nodeSelect.replaceChildren(...nodes.map((n) => el('option', { value: n }, n)), el('option', { value: NO_NODE }, '(none: every endpoint is remote)'));
  nodeSelect.value = effective || NO_NODE;
  const ips = analysis?.model.nodeIPs ?? [];
  byId('node-ips').textContent = ips.length ? `node IP ${ips.join(', ')}` : '';
}

function fillTargets(): void {
  const options = analysis ? targetOptions(analysis.model) : [];
  targetSelect.replaceChildren(...options.map((o) => el('option', { value: o.value }, o.label)));
  if (options.length === 0) targetSelect.append(el('option', { value: '' }, 'no Service address in the manifests'));
  const wanted = options.find((o) => o.value === state.target) ?? options[0];
  targetSelect.value = wanted?.value ?? '';
}

/** Re-reads the editor: diagnostics, tables, addresses, rules; then re-runs the simulation. */
function analyze(): void {
  const text = editor.text;
  try {
    analysis = analyzeManifests(text, state.node);
  } catch (err) {
    // The model reports bad input as diagnostics; an exception here is a vipwasm bug: say so.
    analysis = null;
    editor.showDiagnostics([{ severity: 'error', object: 'vipwasm', field: '', message: `internal error while reading the manifests: ${String(err)}`, line: null }]);
    rulesView.show(null);
    fillTargets();
    simView.clear('Nothing to simulate.');
    return;
  }
  fillNodes(analysis.nodes, analysis.node);
  editor.showDiagnostics(placeDiagnostics(text, analysis.diagnostics));
  renderFindings(byId<HTMLUListElement>('findings'), byId('finding-count'), placeDiagnostics(text, analysis.findings), (line) => editor.goToLine(line));
  renderServices(byId<HTMLTableElement>('services'), analysis.services, analysis.diagnostics.filter((d) => d.severity === 'error').length);
  renderEndpoints(byId<HTMLTableElement>('endpoints'), analysis.services);
  rulesView.show(analysis.model);
  fillTargets();
  void runSimulation(false);
}

function readForm(): void {
  state.target = targetSelect.value;
  state.clients = Number(byId<HTMLInputElement>('clients').value);
  state.requests = Number(byId<HTMLInputElement>('requests').value);
  const s = byId<HTMLSelectElement>('scheduler').value;
  state.scheduler = (SCHEDULERS as readonly string[]).includes(s) ? (s as SchedulerName) : '';
  state.seed = Number(byId<HTMLInputElement>('seed').value);
  state.close = byId<HTMLInputElement>('close').checked;
}

function writeForm(): void {
  byId<HTMLInputElement>('clients').value = String(state.clients);
  byId<HTMLInputElement>('requests').value = String(state.requests);
  byId<HTMLSelectElement>('scheduler').value = state.scheduler;
  byId<HTMLInputElement>('seed').value = String(state.seed);
  byId<HTMLInputElement>('close').checked = state.close;
}

/** Runs the shared simulation loop on a fresh engine instance. `resetStep` after user changes. */
/** Counts runs so that only the latest one shows its result (engine instantiation is async). */
let runs = 0;
/** Runs at least this large first paint a "simulating" note, as they take a noticeable moment. */
const SLOW_RUN = 50_000;

async function runSimulation(resetStep: boolean): Promise<void> {
  if (!wasm || !analysis) return;
  const run = ++runs;
  readForm();
  if (resetStep) state.step = 0;
  saveState();
  simError.hidden = true;
  const target = parseTargetValue(state.target);
  if (!target) {
    lastResult = null;
    explainView.clear();
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error').length;
    simView.clear(
      errors
        ? `Nothing to simulate: no Service address is left after ${errors === 1 ? 'the validation error' : `${errors} validation errors`}; fix the manifests (see Validation).`
        : 'Nothing to simulate: the manifests have no Service address (headless and ExternalName Services have none).',
    );
    return;
  }
  try {
    const started = performance.now();
    const input: SimulationInput = {
      target,
      clients: state.clients,
      requests: state.requests,
      scheduler: state.scheduler || undefined,
      seed: state.seed,
      close: state.close,
    };
    validateSimulationInput(input);
    if (input.requests >= SLOW_RUN) {
      byId('sim-summary').textContent = `Simulating ${input.requests} connections…`;
      await new Promise((paint) => setTimeout(paint, 30));
    }
    const engine = await loadEngineFromBytes(wasm, simulationEngineOptions(input));
    if (run !== runs) return; // a newer run started meanwhile
    lastResult = simulate(engine, analysis.model, input);
    lastInput = input;
    simView.show(lastResult, state.step, performance.now() - started);
    void explainStep(Math.max(0, Math.min(state.step, lastResult.decisions.length - 1)));
    document.body.dataset['simulated'] = String(Number(document.body.dataset['simulated'] ?? '0') + 1);
  } catch (err) {
    lastResult = null;
    explainView.clear();
    simError.textContent = err instanceof Error ? err.message : String(err);
    simError.hidden = false;
    simView.clear('The simulation did not run.');
  }
}

function wire(): void {
  let editTimer: ReturnType<typeof setTimeout> | undefined;
  editor.textarea.addEventListener('input', () => {
    clearTimeout(editTimer);
    editTimer = setTimeout(() => {
      state.manifests = editor.text === exampleText(state.example) ? null : editor.text;
      saveState();
      analyze();
    }, EDIT_DEBOUNCE_MS);
  });
  exampleSelect.addEventListener('change', () => {
    state.example = exampleSelect.value;
    state.manifests = null;
    state.target = '';
    state.node = '';
    showExample();
  });
  nodeSelect.addEventListener('change', () => {
    state.node = nodeSelect.value;
    saveState();
    analyze();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (form.reportValidity()) void runSimulation(true);
  });
  form.addEventListener('change', () => {
    if (form.checkValidity()) void runSimulation(true);
  });
  byId('share').addEventListener('click', () => {
    void encodeState(state).then(async (hash) => {
      history.replaceState(null, '', hash);
      try {
        await navigator.clipboard.writeText(location.href);
        setStatus('Link copied to the clipboard.', 'ok');
      } catch {
        setStatus('The address bar holds the link to this scenario.', 'ok');
      }
    });
  });
}

function showExample(): void {
  exampleSelect.value = state.example;
  byId('example-description').textContent = examples.find((e) => e.name === state.example)?.description ?? '';
  editor.text = state.manifests ?? exampleText(state.example);
  saveState();
  analyze();
}

/** Fetches and compiles engine.wasm (started before the first analysis so the two overlap). */
async function fetchEngine(): Promise<{ module: WebAssembly.Module; bytes: number }> {
  const response = await fetch('engine.wasm');
  if (!response.ok) throw new Error(`engine.wasm: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  performance.mark('vipwasm:wasm-fetched');
  const module = await WebAssembly.compile(bytes);
  performance.mark('vipwasm:wasm-compiled');
  return { module, bytes: bytes.byteLength };
}

/** Keeps --top-height at the header's height: the sticky manifests pane fills the screen below it. */
function trackHeaderHeight(): void {
  const header = document.querySelector<HTMLElement>('header.top');
  if (!header) return;
  const set = (): void => document.documentElement.style.setProperty('--top-height', `${header.offsetHeight}px`);
  set();
  new ResizeObserver(set).observe(header);
}

async function start(): Promise<void> {
  const engineLoad = fetchEngine();
  trackHeaderHeight();
  engineLoad.catch(() => undefined); // handled below, after the page is drawn
  fillExamples();
  state = await decodeState(location.hash, names[0] ?? '', names);
  rulesView = new RulesView(state.rules, (mode) => {
    state.rules = mode;
    saveState();
  });
  writeForm();
  wire();
  showExample();
  performance.mark('vipwasm:analyzed');
  try {
    const loaded = await engineLoad;
    wasm = loaded.module;
    wasmBytes = loaded.bytes;
    const engine = await loadEngineFromBytes(wasm, simulationEngineOptions(state));
    const mem = engine.stats().memoryBytes;
    setStatus(`engine.wasm loaded (${(wasmBytes / 1024).toFixed(1)} KiB, ${(mem / 1048576).toFixed(1)} MiB memory)`, 'ok');
  } catch (err) {
    const why = location.protocol === 'file:' ? 'open the page through a web server, e.g. `vipwasm playground`' : String(err);
    setStatus(`engine.wasm could not be loaded: ${why}`, 'bad');
    return;
  }
  await runSimulation(false);
  performance.mark('vipwasm:first-simulation');
  // Milliseconds from navigation start to the first simulation on screen (the benchmark reads it).
  document.body.dataset['readyMs'] = performance.now().toFixed(1);
  document.body.dataset['ready'] = 'true';
}

/** Hooks for the browser tests and the benchmark (read-only views of what the page computed). */
declare global {
  interface Window {
    vipwasmPlayground?: {
      result: () => SimulationResult | null;
      analysis: () => Analysis | null;
      /** Runs `input` on a fresh engine with the page's current model; times the loop only. */
      benchmark: (input: SimulationInput) => Promise<{ decisions: number; ms: number }>;
    };
  }
}
window.vipwasmPlayground = {
  result: () => lastResult,
  analysis: () => analysis,
  benchmark: async (input) => {
    if (!wasm || !analysis) throw new Error('playground: engine or model not ready');
    const engine = await loadEngineFromBytes(wasm, simulationEngineOptions(input));
    const t0 = performance.now();
    const r = simulate(engine, analysis.model, { ...input, keepDecisions: 0 });
    return { decisions: r.counts.backend + r.counts.pass + r.counts.reject + r.counts.drop, ms: performance.now() - t0 };
  },
};

start().catch((err: unknown) => setStatus(`playground failed to start: ${String(err)}`, 'bad'));
