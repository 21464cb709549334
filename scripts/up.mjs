#!/usr/bin/env node
// npx zx scripts/up.mjs — from nothing to a verified deployment (lib/driver/up.ts lists its steps).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
await require('../lib/driver/up.ts').up(import.meta.filename);
