import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../lib/config/config';
import { CONFIG_FILE } from '../lib/config/layout';
import { ANNOTATIONS_LIMIT, CONFIG_MAP_LIMIT, checkFleetSize, fleetObjectSizes, goJsonBytes } from '../lib/synth/object-size';
import { plannedStack } from '../lib/synth/stack';
import { fleetIdentities } from './support/fixtures';
import { copyProject } from './support/project-copy';

// The sizes synth checks before a fleet reaches the API server; that the API server agrees is
// test/cluster/fleet-size.test.ts, that the estimate matches helm's rendering test/helm-template.test.ts.

const fleet = (count: number, install: 'template' | 'helmchart' = 'template') =>
  plannedStack(parseConfig({ nats: { install }, pki: { identities: fleetIdentities(count) } })).nats;

const work = mkdtempSync(join(tmpdir(), 'fleet-size-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('what a fleet makes of the objects up applies', () => {
  test('1,000 identities with rules of their own fit, with either installer', () => {
    const template = fleetObjectSizes(fleet(1000));
    expect(template.map(({ object, measure, limit }) => [object, measure, limit])).toEqual([
      ['the ConfigMap nats/nats-config that up applies', "in kubectl's last-applied annotation", ANNOTATIONS_LIMIT],
    ]);
    expect(template[0].bytes).toBeLessThan(ANNOTATIONS_LIMIT);
    const helmchart = fleetObjectSizes(fleet(1000, 'helmchart'));
    expect(helmchart.map(({ object, measure, limit }) => [object, measure, limit])).toEqual([
      ['the HelmChart kube-system/nats that up applies', "in kubectl's last-applied annotation", ANNOTATIONS_LIMIT],
      ["the ConfigMap nats/nats-config that k3s's helm controller creates", 'in its data', CONFIG_MAP_LIMIT],
    ]);
    for (const size of helmchart) expect(size.bytes).toBeLessThan(size.limit);
    expect(() => checkFleetSize(fleet(1000))).not.toThrow();
  });

  test('the HelmChart\'s size is its own JSON as kubectl writes it, the values included', () => {
    const nats = fleet(10, 'helmchart');
    const json = nats.helmChart!.toJson() as { spec: { valuesContent: string } };
    // ... with the empty annotations kubectl adds before encoding: `"annotations":{},`
    expect(fleetObjectSizes(nats)[0].bytes).toBe('kubectl.kubernetes.io/last-applied-configuration'.length + goJsonBytes(json) + 17);
    // Go escapes > (every `devN.>` rule) as \u003e: six bytes where JavaScript writes one
    expect(goJsonBytes('a.>')).toBe(JSON.stringify('a.>').length + 5 + 1);
  });

  test('past the limit the message names the identities, the object, its size, the limit and how many fit', () => {
    expect(() => checkFleetSize(fleet(1600))).toThrow(new RegExp(
      '^pki\\.identities: 1,600 authorized identities make the ConfigMap nats/nats-config that up applies \\d+\\.\\d KiB ' +
      "in kubectl's last-applied annotation, above the API server's limit of 256\\.0 KiB: authorize at most about 1,2\\d\\d " +
      'with rules like these \\(allow lists alone are the shortest\\), or split the fleet over several instances$',
    ));
    // the HelmChart carries the values as YAML, shorter than nats.conf: the same check, its own object
    expect(() => checkFleetSize(fleet(1600, 'helmchart'))).not.toThrow();
    expect(() => checkFleetSize(fleet(2500, 'helmchart'))).toThrow(
      /^pki\.identities: 2,500 authorized identities make the HelmChart kube-system\/nats that up applies \d+\.\d KiB in kubectl's last-applied annotation,/,
    );
  });

  test('npm run synth refuses such a fleet with one line and exit code 1, before a key or a file is written', () => {
    // GIVEN a project whose configuration lists 1,600 identities
    const root = copyProject(join(work, 'copy'));
    writeFileSync(join(root, CONFIG_FILE), stringify({ pki: { identities: fleetIdentities(1600) } }));
    const before = readdirSync(root).sort();
    // WHEN synth runs
    const result = spawnSync(process.execPath, ['--require', './scripts/lib/ts-hook.cjs', 'main.ts'], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '' },
    });
    // THEN it says why in one line, and neither keys/ nor dist/ exists
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^✖ pki\.identities: 1,600 authorized identities make the ConfigMap/)]);
    expect(result.stdout).toBe('');
    expect(readdirSync(root).sort()).toEqual(before);
  });
});
