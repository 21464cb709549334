import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CONFIG_FILE } from '../../lib/config/layout';
import { fleetIdentities } from './fixtures';
import { copyProject } from './project-copy';

/**
 * `npm run bench -- --identities 10,100,1000`: a no-op `npm run synth` (every certificate valid) at
 * each fleet size, against the same no-op with the default configuration, so the part that grows
 * with the identities shows as a cost per identity — constant when the growth is linear. The keys
 * are issued once, at the largest size, and each size gets a copy of the files it needs: issuing
 * is `npm run bench:certs`' subject, not this one's.
 */

/** Wall time in seconds of one command run to completion in `cwd` (scripts/lib/timing.mjs's `timed`). */
export type Timed = (command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) => number;

export interface FleetRow {
  readonly identities: number;
  /** Median no-op synth, seconds. */
  readonly seconds: number;
  /** (seconds − the default configuration's) / identities, in milliseconds. */
  readonly perIdentityMs: number;
  /** The same between this size and the one before (the default configuration's two identities for the first): linear growth keeps it level. */
  readonly marginalMs: number;
}

export interface FleetBench {
  /** The default configuration's no-op synth (two identities), seconds. */
  readonly baseSeconds: number;
  readonly rows: FleetRow[];
}

/** The sizes of `--identities 10,100,1000`, ascending; undefined when the flag is absent. */
export function identitySizes(flag: string | boolean | readonly string[] | undefined): number[] | undefined {
  if (flag === undefined) return undefined;
  const sizes = (typeof flag === 'string' ? flag : '').split(',').map((part) => (/^\d+$/.test(part.trim()) ? Number(part.trim()) : NaN));
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) return [];
  return [...new Set(sizes)].sort((a, b) => a - b);
}

const SYNTH = (root: string): [string, string[]] => [process.execPath, ['--require', join(root, 'scripts', 'lib', 'ts-hook.cjs'), join(root, 'main.ts')]];
const PKI_FILES = ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'echo.crt', 'echo.key'];
/** What a fleet uses (issue 19): 1,000 ECDSA identities are issued in seconds, RSA ones in minutes. */
const FLEET_KEY_TYPE = 'ecdsa';

export function measureFleetSynth(scratch: string, sizes: readonly number[], runs: number, timed: Timed, onStep: (line: string) => void): FleetBench {
  const env = { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '' };
  const median = (root: string): number => {
    const [command, args] = SYNTH(root);
    timed(command, args, { cwd: root, env });
    const times = Array.from({ length: runs }, () => timed(command, args, { cwd: root, env })).sort((a, b) => a - b);
    return runs % 2 ? times[(runs - 1) / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
  };
  const project = (name: string, identities: number | undefined): string => {
    const root = copyProject(join(scratch, name));
    if (identities !== undefined) {
      writeFileSync(join(root, CONFIG_FILE), stringify({ pki: { keyType: FLEET_KEY_TYPE, identities: fleetIdentities(identities) } }));
    }
    return root;
  };

  onStep('the default configuration');
  const baseSeconds = median(project('fleet-base', undefined));
  const largest = sizes[sizes.length - 1];
  onStep(`issuing ${largest} identities once`);
  const issued = project(`fleet-${largest}`, largest);
  const [command, args] = SYNTH(issued);
  timed(command, args, { cwd: issued, env });

  let previous = { identities: 2, seconds: 0 };
  const rows = sizes.map((identities) => {
    onStep(`${identities} identities`);
    const root = identities === largest ? issued : project(`fleet-${identities}`, identities);
    if (root !== issued) {
      mkdirSync(join(root, 'keys'), { mode: 0o700 });
      const names = [...PKI_FILES, ...fleetIdentities(identities).flatMap(({ name }) => [`${name}.crt`, `${name}.key`]), '.gitignore'];
      for (const name of names) if (existsSync(join(issued, 'keys', name))) cpSync(join(issued, 'keys', name), join(root, 'keys', name));
    }
    const seconds = median(root);
    if (root !== issued) rmSync(root, { recursive: true, force: true });
    const marginalMs = ((seconds - (previous.seconds || baseSeconds)) * 1000) / Math.max(1, identities - previous.identities);
    previous = { identities, seconds };
    return { identities, seconds, perIdentityMs: ((seconds - baseSeconds) * 1000) / identities, marginalMs };
  });
  return { baseSeconds, rows };
}
