// The zx scripts share the TypeScript modules in lib/ with the charts (one configuration, one PKI).
// Sucrase's require hook strips the types as each module loads (keeping line numbers, so stack
// traces point at the source): no build step to forget, and a few milliseconds of start-up where
// tsx costs a few hundred. Type checking is `npm run typecheck`, part of `npm test`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('sucrase/register/ts');

/** Requires `lib/<name>.ts`; modules load once per process, so `instanceof UserError` holds across them. */
export const requireLib = (name) => require(`../../lib/${name}.ts`);
