import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../lib/deploy/run-command';
import { toolsOf } from './tools/build';

/**
 * npm run tools (test/tools/build.ts): what it builds from each go.mod, and its one line when Go
 * or the Go module proxy is not there.
 */

const REPO = join(__dirname, '..');
const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('the programs of a go.mod', () => {
  test('each tool line is built at the version of the module it comes from, Kubernetes stamped with it', () => {
    const tools = toolsOf('kubernetes', {
      Require: [{ Path: 'k8s.io/api', Version: 'v0.36.3' }, { Path: 'k8s.io/kubernetes', Version: 'v1.36.3' }],
      Tool: [{ Path: 'k8s.io/kubernetes/cmd/kube-apiserver' }, { Path: 'k8s.io/kubernetes/cmd/kubectl' }],
    });
    expect(tools.map(({ binary, version }) => [binary, version])).toEqual([['kube-apiserver', 'v1.36.3'], ['kubectl', 'v1.36.3']]);
    // kubectl reports client-go's version, the API server component-base's: both are stamped
    expect(tools[1].ldflags).toEqual(expect.arrayContaining([
      '-X k8s.io/component-base/version.gitVersion=v1.36.3', '-X k8s.io/client-go/pkg/version.gitVersion=v1.36.3',
      '-X k8s.io/client-go/pkg/version.gitMinor=36',
    ]));
  });

  test('etcd is named etcd; a /vN suffix is not a name; a tool from no required module is refused', () => {
    expect(toolsOf('etcd', { Require: [{ Path: 'go.etcd.io/etcd/server/v3', Version: 'v3.6.8' }], Tool: [{ Path: 'go.etcd.io/etcd/server/v3' }] })[0].binary)
      .toBe('etcd');
    expect(toolsOf('nats-server', {
      Require: [{ Path: 'github.com/nats-io/nats-server/v2', Version: 'v2.14.2' }], Tool: [{ Path: 'github.com/nats-io/nats-server/v2' }],
    })[0]).toMatchObject({ binary: 'nats-server', version: 'v2.14.2' });
    expect(() => toolsOf('x', { Require: [], Tool: [{ Path: 'example.com/tool' }] }))
      .toThrow('test/tools/x/go.mod: the tool example.com/tool comes from no required module — run `go mod tidy` there');
  });
});

describe('npm run tools without its prerequisites', () => {
  const build = (env: NodeJS.ProcessEnv) => {
    const tools = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-tools-'));
    scratch.push(tools);
    return runCommand(process.execPath, ['--require', './scripts/lib/ts-hook.cjs', 'test/tools/build.ts', 'nats-server'], {
      cwd: REPO, timeoutMs: 120_000, env: { ...env, K3S_NATS_TLS_TOOLS_CACHE: tools },
    });
  };

  test('without Go: one line naming go and what to do, exit 1', async () => {
    const result = await build({ PATH: '/nonexistent', HOME: process.env.HOME });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^✖ go: not found or not working — .*install Go 1\.26 or later .* and run `npm run tools` again$/),
    ]);
  });

  test('with the module proxy out of reach: one line naming the module folder and the command to run, exit 1', async () => {
    // GIVEN an empty module cache and a proxy on a closed loopback port
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const modules = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-gomodcache-'));
    const cache = mkdtempSync(join(tmpdir(), 'k3s-nats-tls-gocache-'));
    scratch.push(modules, cache);
    const result = await build({
      PATH: process.env.PATH, HOME: process.env.HOME, GOMODCACHE: modules, GOCACHE: cache, GOPROXY: `http://127.0.0.1:${port}`, GONOSUMDB: '*', GOSUMDB: 'off',
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^✖ go could not download the modules of test\/tools\/nats-server \(.*connection refused.*\): the Go module proxy \(GOPROXY\) must be reachable — run `\(cd test\/tools\/nats-server && go mod download\)` once it is$/),
    ]);
  }, 120_000);
});
