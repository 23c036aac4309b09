/**
 * stopSignal (host/cli/stop-signal.ts): the long-running commands' wait for SIGTERM/SIGINT. It must
 * listen from the call (commands call it before their "serving" line) and let go of both signals
 * once one arrived, so a second signal gets Node's default action (kill) during a drain.
 */
import { describe, expect, it } from 'vitest';
import { stopSignal } from '../../host/cli/stop-signal.js';

describe('stopSignal', () => {
  it('listens from the call on, resolves with the first signal and removes both listeners', async () => {
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    const stopped = stopSignal();
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    process.emit('SIGINT', 'SIGINT');
    expect(await stopped).toBe('SIGINT');
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(process.listenerCount('SIGINT')).toBe(before.int);
  });
});
