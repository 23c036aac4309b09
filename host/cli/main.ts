/**
 * The `vipwasm` command line. Each verb lives in its own file under ./commands and registers
 * itself here; exit codes follow DESIGN.md: 0 ok, 1 runtime failure, 2 bad usage or invalid input.
 */
import { Command, CommanderError } from 'commander';
import { UsageError } from './errors.js';
import { register as playground } from './commands/playground.js';
import { register as get } from './commands/get.js';
import { register as simulate } from './commands/simulate.js';
import { register as forward } from './commands/forward.js';
import { register as demo } from './commands/demo.js';
import { register as rules } from './commands/rules.js';
import { register as envoyConfig } from './commands/envoy-config.js';
import { register as serve } from './commands/serve.js';
import { register as diagnose } from './commands/diagnose.js';
import { register as dns } from './commands/dns.js';
import { register as env } from './commands/env.js';
import { register as explain } from './commands/explain.js';

/** Verb registrations, one per file in ./commands. */
const verbs: Array<(program: Command) => void> = [playground, get, forward, demo, rules, simulate, envoyConfig, serve, diagnose, dns, env, explain];

export async function main(argv: string[]): Promise<number> {
  const program = new Command('vipwasm')
    .description('Kubernetes Service proxy engine in WebAssembly')
    .exitOverride()
    .showHelpAfterError();
  for (const register of verbs) register(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    if (isOperationalFailure(err)) {
      process.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/**
 * A failure of the world rather than of vipwasm (a file it cannot read, an API server that says
 * no, a port in use): one `error:` line, as kubectl prints. A programming error (TypeError,
 * RangeError, ReferenceError, SyntaxError) keeps its stack trace: that one is a bug to report.
 */
function isOperationalFailure(err: unknown): err is Error {
  return err instanceof Error && !(err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError);
}
