import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * A throw-away copy of the project (sources and scripts; node_modules linked), so a test can run
 * scripts/up.mjs and scripts/down.mjs exactly as a user does — they work on the project folder they
 * live in — while keys/ and dist/ are written into the copy, never into the repository.
 */

const REPO = resolve(__dirname, '..', '..');
const PROJECT_ENTRIES = ['main.ts', 'package.json', 'tsconfig.json', 'cdk8s.yaml', 'charts', 'imports', 'lib', 'scripts'];

/**
 * Stands in for scripts/verify.mjs (tested on its own against a real nats-server): logs its flags
 * to FAKE_LOG like the other stand-ins and fails when FAKE_FAIL names "verify".
 */
const VERIFY_STAND_IN = `import { appendFileSync } from 'node:fs';
const args = process.argv.slice(2);
appendFileSync(process.env.FAKE_LOG, JSON.stringify({ tool: 'verify', args }) + '\\n');
if ((process.env.FAKE_FAIL || '').split(',').map((s) => s.trim()).includes('verify')) {
  console.error('✖ NATS: client2 was admitted');
  process.exit(1);
}
console.log('✔ all checks passed');
`;

export function copyProject(dir: string): string {
  const root = join(dir, 'project');
  for (const entry of PROJECT_ENTRIES) cpSync(join(REPO, entry), join(root, entry), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  writeFileSync(join(root, 'scripts', 'verify.mjs'), VERIFY_STAND_IN);
  return root;
}

export interface ScriptResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningScript {
  readonly child: ChildProcess;
  readonly result: Promise<ScriptResult>;
}

/** Starts `node <root>/scripts/<script> ...args` with only `env` (plus HOME) in its environment. */
export function startScript(root: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv): RunningScript {
  const child = spawn(process.execPath, [join(root, 'scripts', script), ...args], {
    cwd: root,
    env: { HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result = new Promise<ScriptResult>((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
  return { child, result };
}

/** Runs a script to its end (see startScript). */
export const runScript = (root: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ScriptResult> =>
  startScript(root, script, args, env).result;
