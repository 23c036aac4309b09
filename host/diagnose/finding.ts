/**
 * A diagnose finding: one reason a Service is unreachable or surprising, with the object and field
 * to look at (as kubectl names them) and what to do about it.
 */
import { type Diagnostic, type ObjectOrigin, formatDiagnostic } from '../model/index.js';

/** What kind of problem; stable names for scripts (`-o json`) and tests. */
export type FindingCode =
  | 'SelectorMatchesNoPod'
  | 'NoReadyPod'
  | 'NoEndpoints'
  | 'NamedTargetPortUndeclared'
  | 'PortProtocolMismatch'
  | 'TargetPortUndeclared'
  | 'NoLocalEndpoint'
  | 'OnlyTerminatingEndpoints'
  | 'ExternalNameIgnoresPortsAndSelector'
  | 'HeadlessWithAffinity'
  | 'LoadBalancerPending'
  | 'OrphanEndpointSlice'
  | 'InvalidObject';

export interface Finding extends Diagnostic {
  readonly code: FindingCode;
  /** What to do, in one or two sentences, with the command to look closer where there is one. */
  readonly fix: string;
}

/** kubectl-style lines: the diagnostic line, then `  fix: …`. */
export function formatFinding(f: Finding): string {
  return `${f.severity}: ${formatDiagnostic(f)}\n  fix: ${f.fix}`;
}

/** Collects findings for one object. */
export class FindingList {
  readonly list: Finding[] = [];

  add(code: FindingCode, severity: Finding['severity'], at: { object: string; origin?: ObjectOrigin | undefined }, field: string, message: string, fix: string): void {
    this.list.push({ code, severity, object: at.object, field, message, fix, ...(at.origin ? { origin: at.origin } : {}) });
  }
}
