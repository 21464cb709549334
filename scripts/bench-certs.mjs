#!/usr/bin/env node
// npm run bench:certs [-- --runs=7 | --identities 1000]: the benchmark is scripts/lib/bench-certs.ts.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
await require('./lib/bench-certs.ts').benchCerts(require('../lib/util/cli.ts').scriptArgs(import.meta.filename));
