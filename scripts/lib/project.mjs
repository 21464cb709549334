// The zx scripts share the TypeScript modules in lib/ with the charts (one configuration, one PKI);
// tsx compiles them on import, so there is no build step to forget.
import { tsImport } from 'tsx/esm/api';

/** Imports `lib/<name>.ts`. */
export const importLib = (name) => tsImport(`../../lib/${name}.ts`, import.meta.url);

// tsx's CommonJS hook, registered once for the whole process: unlike tsImport (and tsx's namespaced
// require), it hits tsx's transform cache, so loading lib/ costs a fraction — what a short script
// like `npm run certs` mostly spends its time on. Modules load once, so `instanceof UserError` holds.
import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

let hooked = false;

/** Requires `lib/<name>.ts` through tsx's CommonJS hook. */
export function requireLib(name) {
  if (!hooked) {
    register();
    hooked = true;
  }
  return createRequire(import.meta.url)(`../../lib/${name}.ts`);
}
