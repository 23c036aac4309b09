/** The text form of explain traces: one numbered step a line, its facts indented beneath. */
import type { ExplainTrace } from './trace.js';

export function formatTrace(t: ExplainTrace): string {
  const head = `${t.from} → ${t.to}/${t.protocol} at ${t.atMs} ms${t.service ? `: ${t.service}` : ''}`;
  const steps = t.steps.map((s, i) => {
    const facts = s.lines.map((l) => `      ${l}`).join('\n');
    return `  ${String(i + 1).padStart(2)}. ${s.step.padEnd(14)} ${s.summary}${facts ? `\n${facts}` : ''}`;
  });
  return `${head}\n${steps.join('\n')}\n`;
}

export function formatTraces(traces: readonly ExplainTrace[]): string {
  return traces.map(formatTrace).join('\n');
}
