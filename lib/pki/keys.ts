import { generateKeyPair, KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

const generateRsa = promisify(generateKeyPair);

/**
 * Generates RSA key pairs in Node's thread pool, all at once: they run in parallel on several cores
 * and leave the main thread free (to load node-forge meanwhile).
 */
export function generateRsaKeys(count: number, bits: number): Promise<KeyPair[]> {
  return Promise.all(Array.from({ length: count }, () => generateRsa('rsa', { modulusLength: bits, publicExponent: 0x10001 })));
}
