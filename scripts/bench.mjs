#!/usr/bin/env node
// npm run bench [-- --runs=7 --identities 10,100,1000]: the benchmark is scripts/lib/bench.ts.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
await require('./lib/bench.ts').bench(require('../lib/util/cli.ts').scriptArgs(import.meta.filename));
