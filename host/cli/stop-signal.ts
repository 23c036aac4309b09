/**
 * The signal a long-running command waits for. Listen before announcing readiness: until a
 * listener is installed, SIGTERM has Node's default action and kills the process (exit by signal,
 * no draining) — a supervisor that signals right after the "serving" line would race the listener.
 */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(signal);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
