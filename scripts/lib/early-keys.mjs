// RSA key generation is most of `npm run certs -- --force`. Imported before anything else, this
// module starts the keys the default configuration needs (CA, server, two clients; RSA 2048) in
// Node's thread pool, so they are generated while zx and the TypeScript in lib/ load. ensurePki
// takes them through its `generateKeys` option and generates any others it needs itself.
import { generateKeyPair } from 'node:crypto';

const DEFAULT_BITS = 2048;
const DEFAULT_COUNT = 4;

const generate = (bits) => new Promise((resolve, reject) => {
  generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (error, publicKey, privateKey) => (
    error ? reject(error) : resolve({ publicKey, privateKey })));
});

const started = process.argv.includes('--force') ? Array.from({ length: DEFAULT_COUNT }, () => generate(DEFAULT_BITS)) : [];
// A key left over (fewer identities, other key size) must not fail the run when nobody awaits it.
for (const key of started) key.catch(() => undefined);

/** `EnsurePkiOptions.generateKeys`: the keys started early first, then new ones. */
export function generateKeys(count, bits) {
  const taken = bits === DEFAULT_BITS ? started.splice(0, count) : [];
  return Promise.all([...taken, ...Array.from({ length: count - taken.length }, () => generate(bits))]);
}
