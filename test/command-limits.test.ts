import { commandEnvironment, commandLimit, LIMIT_ENV } from '../lib/deploy/command-limits';
import { k3dCreateArgs, k3dStartArgs } from '../lib/deploy/k3d';
import { kubectlArgs } from '../lib/deploy/kubectl';
import { UserError } from '../lib/util/errors';
import { defaults } from './support/fixtures';

describe('time limits of the commands up and down run', () => {
  const NO_CAP = {};

  test('local answers (versions, lists, contexts) get 30 s', () => {
    for (const [command, args] of [
      ['docker', ['info']], ['k3d', ['version']], ['k3d', ['cluster', 'list', '-o', 'json']],
      ['kubectl', ['version', '--client']], ['kubectl', ['config', 'get-contexts', '-o', 'name']], ['helm', ['version', '--short']],
    ] as const) {
      expect([command, commandLimit(command, args, NO_CAP).seconds]).toEqual([command, 30]);
    }
  });

  test('k3d create and start outlast their own --timeout, so k3d reports and rolls back first', () => {
    // GIVEN the arguments up passes WHEN limited THEN k3d's 300 s plus a margin
    const create = commandLimit('k3d', k3dCreateArgs(defaults().cluster), NO_CAP);
    expect(create.seconds).toBe(360);
    expect(create.check).toContain('docker logs k3d-dev-server-0');
    expect(commandLimit('/usr/local/bin/k3d', k3dStartArgs('dev'), NO_CAP).seconds).toBe(360);
  });

  test('kubectl rollout status outlasts its --timeout; calls to the cluster say how to check it', () => {
    const rollout = commandLimit('kubectl', kubectlArgs('staging', '-n', 'nats', 'rollout', 'status', 'statefulset/nats', '--timeout=300s'), NO_CAP);
    expect(rollout.seconds).toBe(360);
    expect(rollout.check).toContain('`kubectl --context staging cluster-info`');
    expect(rollout.check).toContain('log in');
    expect(commandLimit('kubectl', kubectlArgs('staging', 'apply', '-f', 'x.yaml'), NO_CAP).seconds).toBe(120);
    // ... and delete waits for a namespace's pods to stop
    expect(commandLimit('kubectl', kubectlArgs('staging', 'delete', '--ignore-not-found', '-f', 'x.yaml'), NO_CAP).seconds).toBe(300);
    // ... and a delete with its own --timeout gets the margin over it
    expect(commandLimit('kubectl', kubectlArgs('staging', 'delete', 'helmchart.helm.cattle.io/nats', '--wait', '--timeout=400s'), NO_CAP).seconds).toBe(460);
  });

  test('helm template names the repository it downloads from', () => {
    const limit = commandLimit('helm', ['template', 'nats', 'nats', '--repo', 'https://charts.example.com/', '-f', 'v.yaml'], NO_CAP);
    expect(limit.seconds).toBe(180);
    expect(limit.check).toContain('https://charts.example.com/');
  });

  test('any other command (synth, verify) is bounded too', () => {
    expect(commandLimit(process.execPath, ['scripts/verify.mjs'], NO_CAP).seconds).toBe(180);
  });

  test(`${LIMIT_ENV} caps every limit; a value that is not a positive number is a user error`, () => {
    expect(commandLimit('k3d', k3dStartArgs('dev'), { [LIMIT_ENV]: '2.5' }).seconds).toBe(2.5);
    expect(commandLimit('docker', ['info'], { [LIMIT_ENV]: '600' }).seconds).toBe(30);
    expect(() => commandLimit('docker', ['info'], { [LIMIT_ENV]: 'soon' })).toThrow(UserError);
    expect(() => commandLimit('docker', ['info'], { [LIMIT_ENV]: '0' })).toThrow(`${LIMIT_ENV}='0' is not a positive number of seconds`);
  });
});

describe('environment of the commands', () => {
  test('k3d runs without LOG_LEVEL (debug logs would go to stdout, into the JSON); other tools keep it', () => {
    const env = { PATH: '/bin', LOG_LEVEL: 'debug' };
    expect(commandEnvironment('k3d', env)).toEqual({ PATH: '/bin' });
    expect(commandEnvironment('/opt/bin/k3d', env)).toEqual({ PATH: '/bin' });
    expect(commandEnvironment('kubectl', env)).toBe(env);
    expect(env).toEqual({ PATH: '/bin', LOG_LEVEL: 'debug' });
  });

  test('helm given a home keeps all its state there: the three homes, and none of the variables that would beat them', () => {
    // GIVEN a user's environment naming helm's repository list, cache, registry login and plugins
    const user = {
      PATH: '/bin', HOME: '/home/me', HTTPS_PROXY: 'http://proxy:3128', HELM_CONFIG_HOME: '/home/me/.helm',
      HELM_REPOSITORY_CONFIG: '/home/me/repos.yaml', HELM_REPOSITORY_CACHE: '/home/me/cache', HELM_REGISTRY_CONFIG: '/home/me/login.json', HELM_PLUGINS: '/home/me/plugins',
    };
    // WHEN helm gets its environment with a home THEN only that home remains, and the rest is kept
    expect(commandEnvironment('/usr/local/bin/helm', user, '/tmp/scratch/home')).toEqual({
      PATH: '/bin', HOME: '/home/me', HTTPS_PROXY: 'http://proxy:3128',
      HELM_CACHE_HOME: '/tmp/scratch/home/cache', HELM_CONFIG_HOME: '/tmp/scratch/home/config', HELM_DATA_HOME: '/tmp/scratch/home/data',
    });
    // ... and without a home (helm version) the environment is the user's
    expect(commandEnvironment('helm', user)).toBe(user);
  });

  test('kubectl runs without KUBECTL_EXTERNAL_DIFF: up reads the headers of diff -u -N', () => {
    const env = { PATH: '/bin', KUBECTL_EXTERNAL_DIFF: 'colordiff -N -u' };
    expect(commandEnvironment('kubectl', env)).toEqual({ PATH: '/bin' });
    expect(commandEnvironment('helm', env)).toBe(env);
  });
});
