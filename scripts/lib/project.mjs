// The zx scripts share the TypeScript modules in lib/ with the charts (one configuration, one PKI).
// ts-hook.cjs compiles each module with sucrase on first use and caches it (keeping line numbers,
// so stack traces point at the source): no build step to forget. Type checking is `tsc` (checkJs),
// part of `npm test`, and the bridge below is typed: a script gets each module's real types.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('./ts-hook.cjs');

/**
 * @typedef {{
 *   'util/atomic-file': typeof import('../../lib/util/atomic-file.ts'),
 *   'util/cli': typeof import('../../lib/util/cli.ts'),
 *   'deploy/command-limits': typeof import('../../lib/deploy/command-limits.ts'),
 *   'config/config': typeof import('../../lib/config/config.ts'),
 *   'deploy/plan': typeof import('../../lib/deploy/plan.ts'),
 *   'deploy/prune': typeof import('../../lib/deploy/prune.ts'),
 *   'deploy/namespaces': typeof import('../../lib/deploy/namespaces.ts'),
 *   'deploy/foreign-objects': typeof import('../../lib/deploy/foreign-objects.ts'),
 *   'util/display-path': typeof import('../../lib/util/display-path.ts'),
 *   'synth/dist': typeof import('../../lib/synth/dist.ts'),
 *   'util/errors': typeof import('../../lib/util/errors.ts'),
 *   'deploy/helm-render': typeof import('../../lib/deploy/helm-render.ts'),
 *   'deploy/k3d': typeof import('../../lib/deploy/k3d.ts'),
 *   'config/layout': typeof import('../../lib/config/layout.ts'),
 *   'nats/chart': typeof import('../../lib/nats/chart.ts'),
 *   'nats/contexts': typeof import('../../lib/nats/contexts.ts'),
 *   'nats/values': typeof import('../../lib/nats/values.ts'),
 *   'pki/paths': typeof import('../../lib/pki/paths.ts'),
 *   'pki/pki': typeof import('../../lib/pki/pki.ts'),
 *   'pki/removal': typeof import('../../lib/pki/removal.ts'),
 *   'util/progress-line': typeof import('../../lib/util/progress-line.ts'),
 *   'util/listed': typeof import('../../lib/util/listed.ts'),
 *   'util/project-lock': typeof import('../../lib/util/project-lock.ts'),
 *   'deploy/run-command': typeof import('../../lib/deploy/run-command.ts'),
 *   'synth/ownership': typeof import('../../lib/synth/ownership.ts'),
 *   'synth/stack': typeof import('../../lib/synth/stack.ts'),
 *   'synth/synth': typeof import('../../lib/synth/synth.ts'),
 *   'verify/keys': typeof import('../../lib/verify/keys.ts'),
 *   'verify/options': typeof import('../../lib/verify/options.ts'),
 *   'verify/progress': typeof import('../../lib/verify/progress.ts'),
 *   'verify/report': typeof import('../../lib/verify/report.ts'),
 *   'verify/verify': typeof import('../../lib/verify/verify.ts'),
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
