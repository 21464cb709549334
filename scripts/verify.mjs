#!/usr/bin/env node
// npm run verify — proves the running deployment answers as configured (lib/driver/verify.ts).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
await require('../lib/driver/verify.ts').verify(import.meta.filename);
