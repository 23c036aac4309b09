/**
 * Printing model diagnostics for the CLI: warnings and errors to stderr in kubectl's one-line form.
 * Returns the exit code they call for (2 when any error: invalid input), per DESIGN.md.
 */
import { type Diagnostic, formatDiagnostic } from '../model/index.js';

export function reportDiagnostics(diagnostics: readonly Diagnostic[], stderr: NodeJS.WritableStream = process.stderr): 0 | 2 {
  let code: 0 | 2 = 0;
  for (const d of diagnostics) {
    if (d.severity === 'error') code = 2;
    stderr.write(`${d.severity === 'error' ? 'error' : 'Warning'}: ${formatDiagnostic(d)}\n`);
  }
  return code;
}

/**
 * For commands that follow a source: reports the diagnostics only when they differ from the last
 * report, so an update that leaves them as they were (a Pod change, an endpoint change) stays quiet.
 */
export function changedDiagnosticsReporter(stderr: NodeJS.WritableStream = process.stderr): (diagnostics: readonly Diagnostic[]) => void {
  let last: string | undefined;
  return (diagnostics) => {
    const text = diagnostics.map(formatDiagnostic).join('\n');
    if (text === last) return;
    last = text;
    reportDiagnostics(diagnostics, stderr);
  };
}
