// The zx scripts share the TypeScript modules in lib/ with the charts (one configuration, one PKI).
// ts-hook.cjs compiles each module with sucrase on first use and caches it (keeping line numbers,
// so stack traces point at the source): no build step to forget. Type checking is `tsc` (checkJs),
// part of `npm test`, and the bridge below is typed: a script gets each module's real types.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./ts-hook.cjs');

/**
 * @typedef {{
 *   'atomic-file': typeof import('../../lib/atomic-file.ts'),
 *   cli: typeof import('../../lib/cli.ts'),
 *   'command-limits': typeof import('../../lib/command-limits.ts'),
 *   config: typeof import('../../lib/config.ts'),
 *   'deploy-plan': typeof import('../../lib/deploy-plan.ts'),
 *   'display-path': typeof import('../../lib/display-path.ts'),
 *   dist: typeof import('../../lib/dist.ts'),
 *   errors: typeof import('../../lib/errors.ts'),
 *   'helm-render': typeof import('../../lib/helm-render.ts'),
 *   k3d: typeof import('../../lib/k3d.ts'),
 *   layout: typeof import('../../lib/layout.ts'),
 *   'nats-chart': typeof import('../../lib/nats-chart.ts'),
 *   'nats-contexts': typeof import('../../lib/nats-contexts.ts'),
 *   'nats-values': typeof import('../../lib/nats-values.ts'),
 *   pki: typeof import('../../lib/pki.ts'),
 *   'project-lock': typeof import('../../lib/project-lock.ts'),
 *   'run-command': typeof import('../../lib/run-command.ts'),
 *   stack: typeof import('../../lib/stack.ts'),
 *   synth: typeof import('../../lib/synth.ts'),
 *   verify: typeof import('../../lib/verify.ts'),
 * }} Lib
 */

/**
 * Requires `lib/<name>.ts`; modules load once per process, so `instanceof UserError` holds across them.
 * @type {<N extends keyof Lib>(name: N) => Lib[N]}
 */
export const requireLib = (name) => require(`../../lib/${name}.ts`);

/**
 * @typedef {{
 *   'fake-tools': typeof import('../../test/support/fake-tools.ts'),
 *   'project-copy': typeof import('../../test/support/project-copy.ts'),
 * }} TestSupport
 */

/**
 * The benchmark runs the same project copies and stand-in tools as the tests.
 * @type {<N extends keyof TestSupport>(name: N) => TestSupport[N]}
 */
export const requireTestSupport = (name) => require(`../../test/support/${name}.ts`);
