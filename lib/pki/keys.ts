import { generateKeyPair, KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { PkiConfig } from '../config/config';

/** The key types the PKI issues (`pki.keyType`), how each is generated, named and recognised. */

export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/** What a key must be: `pki.keyType`, and for RSA `pki.keyBits`. */
export type KeySettings = Pick<PkiConfig, 'keyType' | 'keyBits'>;

/** The ECDSA curve: P-256, what Go, OpenSSL and every TLS stack support, and what step-ca and device fleets use. */
const EC_CURVE = 'P-256';
/** How Node's `asymmetricKeyDetails` names that curve (its OpenSSL name). */
const EC_CURVE_OPENSSL = 'prime256v1';
const RSA_PUBLIC_EXPONENT = 0x10001;

const generate = promisify(generateKeyPair);

/**
 * Starts one key pair per count in Node's thread pool, all at once: they run in parallel on several
 * cores and leave the main thread free (to load node-forge and sign meanwhile). One promise per key,
 * so a caller can issue each certificate as soon as its key is ready.
 */
export function generateKeys(count: number, settings: KeySettings): Array<Promise<KeyPair>> {
  return Array.from({ length: count }, () => (settings.keyType === 'ecdsa'
    ? generate('ec', { namedCurve: EC_CURVE })
    : generate('rsa', { modulusLength: settings.keyBits, publicExponent: RSA_PUBLIC_EXPONENT })));
}

/** `RSA 2048` or `ECDSA P-256`, as messages name a key type. */
export const keyName = (settings: KeySettings): string => (settings.keyType === 'ecdsa' ? `ECDSA ${EC_CURVE}` : `RSA ${settings.keyBits}`);

/** What a key is, as far as the configuration asks: its type, and its curve (ECDSA) or size (RSA). */
export interface KeyFacts {
  readonly type?: string;
  readonly curve?: string;
  readonly bits?: number;
}

/** The facts of `key` (public or private: a certificate's public key tells the same as its private key). */
export function keyFactsOf(key: KeyObject): KeyFacts {
  const details = key.asymmetricKeyDetails;
  return { type: key.asymmetricKeyType, curve: details?.namedCurve, bits: details?.modulusLength };
}

/** Whether a key with these facts is of the configured type and size. */
export function keyMatches(key: KeyFacts, settings: KeySettings): boolean {
  return settings.keyType === 'ecdsa'
    ? key.type === 'ec' && key.curve === EC_CURVE_OPENSSL
    : key.type === 'rsa' && key.bits === settings.keyBits;
}

/** Whether the PKI can sign with `key`: RSA (any size it issues), or ECDSA on the curve it issues. */
export function canSignWith(key: KeyObject): boolean {
  return key.asymmetricKeyType === 'rsa' || (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVE_OPENSSL);
}
