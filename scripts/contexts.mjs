#!/usr/bin/env node
// npm run contexts — one nats CLI context per authorized identity (lib/driver/contexts.ts).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
await require('../lib/driver/contexts.ts').contexts(import.meta.filename);
