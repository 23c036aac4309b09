/** The vipwasm CLI from sources, for tests that need it in its own process (`--watch` waits for SIGTERM). */
import { main } from '../../../host/cli/main.js';

process.exitCode = await main(process.argv);
