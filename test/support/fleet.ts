import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseConfig, type Config } from '../../lib/config/config';
import { issueCertificates } from '../../lib/pki/issue';
import { ensurePki, type PkiResult } from '../../lib/pki/pki';

/**
 * A fleet: `size` identities `dev<i>`, each with its own email and permissions (publish to its own
 * `devices.dev<i>.>` but not `devices.dev<i>.admin.>`, subscribe to its commands and its inboxes);
 * every tenth one not authorized.
 */
export function fleetConfig(size: number, pki: object = {}): Config {
  const identities = Array.from({ length: size }, (_, i) => ({
    name: `dev${i}`,
    email: `dev${i}@example.com`,
    authorized: i % 10 !== 9,
    permissions: {
      publish: { allow: [`devices.dev${i}.>`], deny: [`devices.dev${i}.admin.>`] },
      subscribe: { allow: [`cmd.dev${i}.>`, '_INBOX.>'] },
    },
  }));
  return parseConfig({ pki: { ...pki, identities } });
}

/**
 * Issues `config`'s PKI under `baseDir` cheaply: the CA, server and echo certificates as ensurePki
 * issues them, and every identity's certificate from that CA but all on one RSA key (a fresh
 * RSA-2048 key per identity costs a few hundred milliseconds; the server maps the certificate's
 * email, not its key). ensurePki then checks the fleet's files against the configuration and
 * keeps them, so they are exactly the certificates it would have issued, keys apart.
 */
export async function issueFleetPki(config: Config, baseDir: string): Promise<PkiResult> {
  const [first] = config.pki.identities;
  const base = await ensurePki({ ...config, pki: { ...config.pki, identities: [first] } }, { baseDir });
  const shared = generateKeyPairSync('rsa', { modulusLength: config.pki.keyBits });
  const rest = config.pki.identities.slice(1);
  const { leaves } = await issueCertificates({
    ca: { cert: base.caCert, key: createPrivateKey(readFileSync(base.paths.caKey)) },
    keys: rest.map(() => shared),
    caCommonName: 'unused: the CA exists',
    leaves: rest.map(({ name, email }) => ({ commonName: name, dnsNames: [], ips: [], emails: email ? [email] : [], usages: ['clientAuth'] })),
    validityDays: config.pki.validityDays,
    now: new Date(),
  });
  rest.forEach(({ name }, i) => {
    writeFileSync(base.paths.identityKey(name), leaves[i].key, { mode: 0o600 });
    writeFileSync(base.paths.identityCert(name), leaves[i].cert, { mode: 0o644 });
  });
  const pki = await ensurePki(config, { baseDir });
  if (pki.issued.length > 0) throw new Error(`ensurePki re-issued fleet files, so they differ from what it issues: ${pki.issued.slice(0, 4).join(', ')}`);
  return pki;
}
