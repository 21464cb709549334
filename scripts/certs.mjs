#!/usr/bin/env node
// npm run certs — creates or refreshes the dev PKI (lib/driver/certs.ts).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./lib/ts-hook.cjs');
await require('../lib/driver/certs.ts').certs(import.meta.filename);
