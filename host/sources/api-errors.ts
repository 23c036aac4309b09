/**
 * Readable API-server errors, kept apart from the informers so that code reporting them does not
 * load `@kubernetes/client-node` (see api-source.ts).
 */

/**
 * One line for an informer error: `HTTP 403: <the Status message>` for an error status (a failed
 * watch carries `statusCode`; a failed list is the client's ApiException with `code`, the response
 * body, and for codes the API declares a description such as "Unauthorized"), else the network
 * error (`connect ECONNREFUSED …`).
 */
export function errorDetail(err: unknown): string {
  const e = err as { message?: string; statusCode?: unknown; code?: unknown; body?: unknown; cause?: { message?: string } } | undefined;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : undefined;
  if (status !== undefined) {
    let body = e?.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // not JSON: no message to show
      }
    }
    let message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
    // Without a Status body, the client's own description of a known code ("Message: Unauthorized").
    const described = /\nMessage: (.*)/.exec(e?.message ?? '')?.[1];
    if (typeof message !== 'string' || !message) message = described && described !== 'Unknown API Status Code!' ? described : undefined;
    return message ? `HTTP ${status}: ${message}` : `HTTP ${status}`;
  }
  return e?.cause?.message ?? e?.message ?? String(err);
}
