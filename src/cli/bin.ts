// Executable entry: `node dist/src/cli/bin.js <args>` (bin/lathe.js loads this file).
import { main } from './index.js';

await main(process.argv);
