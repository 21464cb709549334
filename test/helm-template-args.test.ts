import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConfig } from '../lib/config/config';
import { helmTemplateArgs } from '../lib/deploy/helm-render';
import { defaults } from './support/fixtures';
import { BIN_DIR } from './tools/build';

/**
 * up's `helm template` command line against the real helm (v3.22, `npm run tools -- helm`), with no
 * chart repository: helm prefers a folder named like the chart in its working directory over --repo
 * (helm's LocateChart stats the name first), so a chart made by `helm create nats` there is what a
 * correct command renders. The repository is a closed port on 127.0.0.1: nothing leaves the machine.
 */

const HELM = join(BIN_DIR, 'helm');
const CLOSED_REPO = 'http://127.0.0.1:1/';

const work = mkdtempSync(join(tmpdir(), 'helm-template-args-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** helm with its cache and configuration inside the test's folder, no stdin, and a time bound. */
function helm(args: readonly string[]) {
  if (!existsSync(HELM)) throw new Error(`${HELM} is missing: run npm run tools -- helm`);
  const home = join(work, 'home');
  const result = spawnSync(HELM, args, {
    cwd: work,
    env: { PATH: process.env.PATH, HOME: home, XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL',
  });
  if (result.error) throw result.error;
  return result;
}

const nats = (chartName: string): NatsConfig => {
  const { nats: base } = defaults();
  return { ...base, chart: { ...base.chart, name: chartName, repo: CLOSED_REPO } };
};

beforeAll(() => {
  expect(helm(['create', 'nats']).status).toBe(0);
  // The scaffold leaves the namespace out of its manifests: this template shows which one helm got.
  writeFileSync(join(work, 'nats', 'templates', 'namespace.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: where\ndata:\n  namespace: {{ .Release.Namespace }}\n');
  mkdirSync(join(work, 'out'));
  writeFileSync(join(work, 'values.yaml'), 'replicaCount: 2\n');
  // A post-renderer that leaves a mark: helm runs it with the manifests on stdin.
  writeFileSync(join(work, 'evil.sh'), `#!/bin/sh\ntouch ${join(work, 'out', 'post-renderer-ran')}\ncat\n`);
  chmodSync(join(work, 'evil.sh'), 0o755);
});

test('helm takes the release and the chart after --', () => {
  // GIVEN the default NATS settings WHEN helm runs up's arguments
  const result = helm(helmTemplateArgs(nats('nats'), join(work, 'values.yaml')));
  // THEN it renders chart nats as release nats, in namespace nats, with the values file
  expect(result.stderr).toMatch(/local chart found in current working directory/);
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('app.kubernetes.io/instance: nats\n');
  expect(result.stdout).toContain('helm.sh/chart: nats-0.1.0\n');
  expect(result.stdout).toContain('  namespace: nats\n');
  expect(result.stdout).toContain('replicas: 2\n');
});

test('a chart name that reads like a flag stays a chart name: helm runs no post-renderer', () => {
  // GIVEN a chart name written as helm's --post-renderer flag (the configuration refuses it; this is the second guard)
  const result = helm(helmTemplateArgs(nats('--post-renderer=./evil.sh'), join(work, 'values.yaml')));
  // THEN helm looks for a chart of that name in the repository, fails, and ./evil.sh never runs
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain(CLOSED_REPO.replace(/\/$/, ''));
  expect(existsSync(join(work, 'out', 'post-renderer-ran'))).toBe(false);
});
