#!/usr/bin/env node
// npx zx scripts/down.mjs — undoes scripts/up.mjs (lib/driver/down.ts lists its steps).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
await require('../lib/driver/down.ts').down(import.meta.filename);
