/**
 * Runs the real `vipwasm` CLI from source (tsx), for end-to-end tests and the forwarder benchmark:
 * `node --import tsx test/e2e/forwarder/cli-entry.ts forward -f …`.
 */
import { main } from '../../../host/cli/main.js';

process.exitCode = await main(process.argv);
