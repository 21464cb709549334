import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The layering the README states is what the linter enforces: the project's own eslint.config.mjs
 * refuses an import circle, an import from a higher layer, and an environment read below the entry
 * points — shown on deliberate violations, written as the text of existing files — and the real
 * tree passes. Only these rules run, without type information, so the whole tree lints in seconds;
 * `npm run lint` runs them with all the others. ESLint loads its configuration as an ES module,
 * which jest's module sandbox cannot, so every case runs in one Node process of its own.
 */

const ROOT = join(__dirname, '..');

interface LintCase {
  /** A project file, and the text to lint in its place; or `files`, to lint the tree as it is. */
  readonly file?: string;
  readonly text?: string;
  readonly files?: readonly string[];
}

const LINT = `
const { ESLint } = await import('eslint');
const rules = new Set(['import-x/no-cycle', 'import-x/no-restricted-paths', 'no-restricted-properties']);
const eslint = new ESLint({
  cwd: process.cwd(),
  ruleFilter: ({ ruleId }) => rules.has(ruleId),
  // The type-aware rules are filtered out, so the files need no TypeScript program.
  overrideConfig: { languageOptions: { parserOptions: { project: false } } },
});
const answers = [];
for (const { file, text, files } of JSON.parse(process.argv[1])) {
  const results = files ? await eslint.lintFiles(files) : await eslint.lintText(text, { filePath: file });
  answers.push({ linted: results.length, problems: results.flatMap(({ filePath, messages }) =>
    messages.map(({ ruleId, message }) => (files ? filePath + ': ' : '') + ruleId + ': ' + message)) });
}
console.log(JSON.stringify(answers));
`;

/** Lints every case in one ESLint process: per case, how many files it linted and each problem as "rule: message". */
function lint(cases: readonly LintCase[]): { linted: number; problems: string[] }[] {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', LINT, JSON.stringify(cases)], {
    cwd: ROOT, encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`eslint did not run (${run.error?.message ?? `exit ${run.status}`}): ${run.stderr}`);
  return JSON.parse(run.stdout) as { linted: number; problems: string[] }[];
}

const CYCLE: LintCase = { file: 'lib/util/errors.ts', text: "import { runCli } from './cli';\n\nexport const run = runCli;\n" };

/** Imports from a higher layer, each as the text of a file in a lower one, and the layers it may import from. */
const UPWARD: readonly (readonly [what: string, LintCase, allowed: string])[] = [
  ['lib/nats reads the configuration',
    { file: 'lib/nats/chart.ts', text: "import { CONFIG_FILE } from '../config/layout';\n\nexport const file = CONFIG_FILE;\n" },
    'lib/nats may import only from imports, lib/util ← lib/nats'],
  ['a construct uses a chart',
    { file: 'lib/constructs/tls-secret.ts', text: "import { EchoChart } from '../../charts/echo';\n\nexport const chart = EchoChart;\n" },
    'lib/constructs may import only from imports, lib/util ← lib/nats ← lib/constructs'],
  ['a chart uses the stack that composes it',
    { file: 'charts/echo.ts', text: "import { plannedStack } from '../lib/synth/stack';\n\nexport const stack = plannedStack;\n" },
    'charts may import only from imports, lib/util ← lib/nats ← lib/constructs ← charts'],
  ['the PKI reaches into the driver',
    { file: 'lib/pki/keys.ts', text: "import { kubectlArgs } from '../deploy/kubectl';\n\nexport const args = kubectlArgs;\n" },
    'lib/pki may import only from'],
  ['the driver uses a test helper',
    { file: 'lib/deploy/k3d.ts', text: "import { natsServerBin } from '../../test/support/tools';\n\nexport const bin = natsServerBin;\n" },
    'lib/deploy may import only from'],
];

const ENV_READ: LintCase = { file: 'lib/config/layout.ts', text: 'export const outdir = process.env.CDK8S_OUTDIR;\n' };
const ENTRY: LintCase = { file: 'main.ts', text: "import { plannedStack } from './lib/synth/stack';\n\nexport const stack = plannedStack;\n" };
const TREE: LintCase = { files: ['lib', 'charts', 'imports', 'main.ts', 'scripts', 'test'] };

let answers: { linted: number; problems: string[] }[];
beforeAll(() => {
  answers = lint([CYCLE, ...UPWARD.map(([, lintCase]) => lintCase), ENV_READ, ENTRY, TREE]);
}, 200_000);

const answerFor = (lintCase: LintCase) => answers[[CYCLE, ...UPWARD.map(([, c]) => c), ENV_READ, ENTRY, TREE].indexOf(lintCase)];

describe('the linter keeps the layers', () => {
  test('an import circle fails: lib/util/errors.ts importing lib/util/cli.ts, which imports it', () => {
    expect(answerFor(CYCLE).problems).toEqual([expect.stringMatching(/^import-x\/no-cycle: Dependency cycle detected/)]);
  });

  // An upward import usually closes a circle as well (the higher layer imports this file): no-cycle may say so too.
  test.each(UPWARD)('an import from a higher layer fails: %s', (_what, lintCase, allowed) => {
    const refused = answerFor(lintCase).problems.filter((problem) => problem.startsWith('import-x/no-restricted-paths: Unexpected path'));
    expect(refused).toEqual([expect.stringContaining(allowed)]);
  });

  test('reading the environment below the entry points fails', () => {
    expect(answerFor(ENV_READ).problems).toEqual([expect.stringMatching(/^no-restricted-properties: 'process.env' is restricted from being used\. only an entry point/)]);
  });

  test('an entry point may import any layer', () => {
    expect(answerFor(ENTRY).problems).toEqual([]);
  });

  test('the real tree passes', () => {
    expect(answerFor(TREE).problems).toEqual([]);
    expect(answerFor(TREE).linted).toBeGreaterThan(100);
  });
});
