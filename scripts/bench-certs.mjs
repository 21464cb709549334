#!/usr/bin/env node
// npm run bench:certs [-- --runs=7 | --identities 1000]: the benchmark is scripts/lib/bench-certs.ts.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
/** @type {typeof import('./lib/bench-certs.ts')} */
const { scriptArgs } = require('../lib/util/cli.ts');
const { benchCerts } = require('./lib/bench-certs.ts');
/** @type {typeof import('../lib/util/cli.ts')} */

await benchCerts(scriptArgs(import.meta.filename));
