// The zx scripts share the TypeScript modules in lib/ with the charts (one configuration, one PKI);
// tsx compiles them on import, so there is no build step to forget.
import { tsImport } from 'tsx/esm/api';

/** Imports `lib/<name>.ts`. */
export const importLib = (name) => tsImport(`../../lib/${name}.ts`, import.meta.url);

// tsx's CommonJS hook loads lib/ about twice as fast as tsImport: what a short script like
// `npm run certs` mostly spends its time on. Modules load once, so `instanceof UserError` holds.
import { require as tsxRequire } from 'tsx/cjs/api';

/** Requires `lib/<name>.ts` through tsx's CommonJS hook. */
export const requireLib = (name) => tsxRequire(`../../lib/${name}.ts`, import.meta.url);
