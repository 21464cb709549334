// The zx scripts share the TypeScript modules in lib/ with the charts (one configuration, one PKI);
// tsx compiles them on import, so there is no build step to forget.
import { tsImport } from 'tsx/esm/api';

/** Imports `lib/<name>.ts`. */
export const importLib = (name) => tsImport(`../../lib/${name}.ts`, import.meta.url);
