import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runCommand, type RunResult } from '../../lib/deploy/run-command';

/**
 * Builds the real programs the tests run — the Kubernetes control plane, etcd, KWOK, the chart's
 * nats-server, the `nats` CLI and helm — from the Go modules in test/tools/<module>/go.mod, where
 * their versions are pinned (`require`) and the programs named (`tool`). Each module is its own so
 * that tools whose dependencies conflict (etcd's and Kubernetes' etcd clients, helm's client-go)
 * never meet. Binaries go into a cache outside the checkout, keyed by the module's go.mod, go.sum
 * and the Go version, so a second clone or a second run builds nothing; test/tools/.bin/ (git-ignored)
 * links to them. Nothing is downloaded but Go modules, through Go's own module proxy.
 */

export const TOOLS_DIR = __dirname;
/** Where the tests find the programs: one link per program. */
export const BIN_DIR = join(TOOLS_DIR, '.bin');
/** Moves the shared cache (default `~/.cache/k3s-nats-tls/tools`). */
export const CACHE_ENV = 'K3S_NATS_TLS_TOOLS_CACHE';

/** A cold build of kube-apiserver on 2 busy cores takes minutes; an hour means Go is stuck. */
const BUILD_SECONDS = 3600;

export interface GoTool {
  /** The folder under test/tools/ holding its go.mod. */
  readonly module: string;
  /** The `tool` line: the main package's import path. */
  readonly pkg: string;
  /** The file name of the program. */
  readonly binary: string;
  /** The version of the module the program comes from, as go.mod requires it. */
  readonly version: string;
  readonly ldflags: readonly string[];
}

/** etcd's main package is its server module's root; every other program is named by its folder. */
const binaryName = (pkg: string): string => (pkg.startsWith('go.etcd.io/etcd/server/') ? 'etcd' : pkg.split('/').filter((part) => !/^v\d+$/.test(part)).at(-1)!);

/**
 * Version stamps the programs print and check: an unstamped kube-apiserver calls itself
 * v0.0.0-master and derives a wrong compatibility version from it; kubectl reports it as its client
 * version, which `up`'s preflight reads.
 */
function stamps(pkg: string, version: string): string[] {
  if (pkg.startsWith('k8s.io/kubernetes/')) {
    const [major, minor] = version.slice(1).split('.');
    return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((at) => [
      `-X ${at}.gitVersion=${version}`, `-X ${at}.gitMajor=${major}`, `-X ${at}.gitMinor=${minor}`, `-X ${at}.gitTreeState=clean`,
    ]);
  }
  if (pkg.startsWith('helm.sh/helm/')) return [`-X helm.sh/helm/v3/internal/version.version=${version}`];
  if (pkg.startsWith('github.com/nats-io/natscli/')) return [`-X main.version=${version}`];
  return [];
}

/** What `go mod edit -json` prints of a go.mod (the parts read here). */
export interface GoModJson {
  readonly Require?: readonly { readonly Path: string; readonly Version: string }[];
  readonly Tool?: readonly { readonly Path: string }[];
}

/** The programs one go.mod declares, with the version of the module each comes from. */
export function toolsOf(module: string, goMod: GoModJson): GoTool[] {
  const required = goMod.Require ?? [];
  return (goMod.Tool ?? []).map(({ Path: pkg }) => {
    const owner = required.filter(({ Path }) => pkg === Path || pkg.startsWith(`${Path}/`)).sort((a, b) => b.Path.length - a.Path.length)[0];
    if (!owner) throw new ToolBuildError(`test/tools/${module}/go.mod: the tool ${pkg} comes from no required module — run \`go mod tidy\` there`);
    return { module, pkg, binary: binaryName(pkg), version: owner.Version, ldflags: ['-s', '-w', ...stamps(pkg, owner.Version)] };
  });
}

export const goModules = (): string[] =>
  readdirSync(TOOLS_DIR, { withFileTypes: true }).filter((entry) => entry.isDirectory() && existsSync(join(TOOLS_DIR, entry.name, 'go.mod')))
    .map((entry) => entry.name).sort();

/** The path the tests run a program from. */
export const toolPath = (binary: string): string => join(BIN_DIR, binary);

export class ToolBuildError extends Error {
  override readonly name = 'ToolBuildError';
}

const cacheRoot = (): string => process.env[CACHE_ENV] || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'k3s-nats-tls', 'tools');

/** Go without its own toolchain downloads: the go.mod files ask for a Go this machine has or fail. */
const goEnv = (): NodeJS.ProcessEnv => ({ ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly -buildvcs=false', CGO_ENABLED: '0' });

const go = (args: string[], cwd: string, seconds: number): Promise<RunResult> => runCommand('go', args, { cwd, env: goEnv(), timeoutMs: seconds * 1000 });

async function toolsOfModules(modules: readonly string[]): Promise<GoTool[]> {
  const known = goModules();
  const unknown = modules.filter((module) => !known.includes(module));
  if (unknown.length > 0) throw new ToolBuildError(`no module test/tools/${unknown[0]}: choose from ${known.join(', ')}`);
  const tools: GoTool[] = [];
  for (const module of modules) {
    const result = await go(['mod', 'edit', '-json'], join(TOOLS_DIR, module), 60);
    if (result.code !== 0) throw new ToolBuildError(`test/tools/${module}/go.mod cannot be read: ${result.stderr.trim().split('\n')[0]}`);
    tools.push(...toolsOf(module, JSON.parse(result.stdout) as GoModJson));
  }
  return tools;
}

/** `go version` as printed, or a ToolBuildError saying how to get Go. */
async function goVersion(): Promise<string> {
  const result = await go(['env', 'GOVERSION'], TOOLS_DIR, 60);
  if (result.error || result.code !== 0) {
    throw new ToolBuildError(
      'go: not found or not working — the tests build their Kubernetes, NATS and helm programs from test/tools/*/go.mod; ' +
        'install Go 1.26 or later (https://go.dev/doc/install) and run `npm run tools` again',
    );
  }
  return result.stdout.trim();
}

/** The last line Go printed that says what went wrong, with the likely cause. */
function buildFailure(tool: GoTool, result: RunResult): ToolBuildError {
  const where = `test/tools/${tool.module}`;
  if (result.timedOut) return new ToolBuildError(`go build ${tool.pkg}: no result after ${BUILD_SECONDS} s in ${where} — run it there by hand to see where it stops`);
  const lines = result.stderr.trim().split('\n').filter(Boolean);
  const network = lines.find((line) => /dial tcp|lookup .* no such host|connection refused|i\/o timeout|TLS handshake timeout|proxyconnect/i.test(line));
  if (network) {
    return new ToolBuildError(`go could not download the modules of ${where} (${network.trim()}): the Go module proxy (GOPROXY) must be reachable — ` +
      `run \`(cd ${where} && go mod download)\` once it is`);
  }
  return new ToolBuildError(`go build ${tool.pkg} failed in ${where}: ${lines.at(-1) ?? `exit ${result.code}`}`);
}

/** The cache folder for one module's programs: a new go.mod, go.sum or Go builds them anew. */
function cacheDir(module: string, goVersionText: string): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum']) hash.update(readFileSync(join(TOOLS_DIR, module, file)));
  hash.update(`${goVersionText} ${process.platform} ${process.arch}`);
  return join(cacheRoot(), `${module}-${hash.digest('hex').slice(0, 16)}`);
}

export interface BuildReport {
  readonly tool: GoTool;
  readonly path: string;
  /** Seconds spent building; 0 when the cache had it. */
  readonly seconds: number;
}

/**
 * Builds the programs of `modules` that are not in the cache yet, one at a time (each `go build` already uses
 * every core), and points test/tools/.bin/ at the cached binaries. `onStep` hears about each program.
 */
export async function buildTools(modules: readonly string[], onStep: (report: BuildReport) => void = () => {}): Promise<BuildReport[]> {
  const version = await goVersion();
  mkdirSync(BIN_DIR, { recursive: true });
  const reports: BuildReport[] = [];
  for (const tool of await toolsOfModules(modules)) {
    const dir = cacheDir(tool.module, version);
    const path = join(dir, tool.binary);
    let seconds = 0;
    if (!existsSync(path)) {
      mkdirSync(dir, { recursive: true });
      const partial = `${path}.${process.pid}.partial`;
      const started = process.hrtime.bigint();
      const result = await go(['build', '-trimpath', `-ldflags=${tool.ldflags.join(' ')}`, '-o', partial, tool.pkg], join(TOOLS_DIR, tool.module), BUILD_SECONDS);
      if (result.code !== 0) {
        rmSync(partial, { force: true });
        throw buildFailure(tool, result);
      }
      chmodSync(partial, 0o755);
      renameSync(partial, path);
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
    }
    const link = toolPath(tool.binary);
    rmSync(link, { force: true });
    symlinkSync(path, link);
    const report = { tool, path, seconds };
    reports.push(report);
    onStep(report);
  }
  return reports;
}

async function main(): Promise<void> {
  const started = Date.now();
  try {
    const wanted = process.argv.slice(2);
    const reports = await buildTools(wanted.length > 0 ? wanted : goModules(), ({ tool, seconds }) => {
      const how = seconds > 0 ? `built in ${seconds.toFixed(0)} s` : 'cached';
      console.log(`✔ ${tool.binary} ${tool.version} (${how})`);
    });
    const built = reports.filter((report) => report.seconds > 0).length;
    console.log(`Tools ready in test/tools/.bin/: ${reports.length} programs, ${built} built, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } catch (error) {
    if (!(error instanceof ToolBuildError)) throw error;
    console.error(`✖ ${error.message}`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
