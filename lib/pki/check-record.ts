import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { writeFileAtomic } from '../util/atomic-file';
import { readIfExists } from './folder';
import type { IssuedPair } from './issue';
import type { LeafFacts } from './x509-checks';

/**
 * What the PKI already checked: for each pair of certificate and key that passed the full check
 * (parsed, the key belongs to the certificate, the CA signed it), the SHA-256 of both texts and the
 * facts the certificate asserts. A no-op run then parses none of a fleet's thousands of files again —
 * parsing keys was most of a no-op synth — and still holds each pair's facts against the
 * configuration and the current time. A pair whose texts changed by one byte hashes to no entry
 * and is checked in full.
 *
 * The record is sealed with an HMAC keyed by the CA's private key and names the CA certificate it
 * was checked against: whoever can forge an entry can read the CA key, and so could sign any
 * certificate anyway. A record that is missing, unreadable as a record, of another format, sealed
 * with another key or naming another CA counts as empty: everything is checked in full, and the
 * record is written anew.
 */

/** The first line; a change to what an entry means changes it, so an older record counts as empty. */
const FORMAT = 'k3s-nats-tls checked pairs v1';
const KEY_MODE = 0o600;

/** The CA the pairs were checked against: its certificate, and its private key's text, which seals the record. */
export interface RecordCa {
  readonly cert: string;
  readonly keyPem: string;
}

interface Body {
  /** SHA-256 of the CA certificate's text. */
  readonly ca: string;
  /** Pair hash → facts. */
  readonly pairs: Record<string, LeafFacts>;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
const pairHash = (pair: IssuedPair): string => createHash('sha256').update(sha256(pair.cert)).update(sha256(pair.key)).digest('hex');
const seal = (ca: RecordCa, body: string): Buffer => createHmac('sha256', ca.keyPem).update(`${FORMAT}\n${body}`).digest();

const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');
const isOptional = (value: unknown, type: 'string' | 'number') => value === undefined || typeof value === type;

/** Sealed by this tool, but checked all the same: an entry of any other shape is no entry. */
function isFacts(value: unknown): value is LeafFacts {
  const facts = value as Partial<Record<keyof LeafFacts, unknown>> | null;
  if (typeof facts !== 'object' || facts === null) return false;
  const key = facts.key as Record<string, unknown> | null;
  return typeof facts.subject === 'string' && isStrings(facts.sans) && isStrings(facts.usages) && typeof facts.ca === 'boolean'
    && typeof facts.validFrom === 'string' && typeof facts.validTo === 'string' && typeof key === 'object' && key !== null
    && isOptional(key.type, 'string') && isOptional(key.curve, 'string') && isOptional(key.bits, 'number');
}

/** The entries of the record text when it is whole, sealed with `ca`'s key and about `ca`; else none. */
function entriesOf(text: string | undefined, ca: RecordCa): Map<string, LeafFacts> {
  const entries = new Map<string, LeafFacts>();
  const newline = text?.indexOf('\n') ?? -1;
  if (text === undefined || newline === -1) return entries;
  const [format, mac] = text.slice(0, newline).split(' hmac-sha256=');
  const body = text.slice(newline + 1);
  const expected = seal(ca, body);
  if (format !== FORMAT || !/^[0-9a-f]{64}$/.test(mac ?? '') || !timingSafeEqual(Buffer.from(mac, 'hex'), expected)) return entries;
  let parsed: Partial<Body>;
  try {
    parsed = JSON.parse(body) as Partial<Body>;
  } catch {
    return entries;
  }
  if (parsed.ca !== sha256(ca.cert).toString('hex') || typeof parsed.pairs !== 'object' || parsed.pairs === null) return entries;
  for (const [hash, facts] of Object.entries(parsed.pairs)) if (isFacts(facts)) entries.set(hash, facts);
  return entries;
}

/** The record's text; one that cannot be read is no record (the folder itself was vetted: no link, no pipe). */
function readable(path: string): string | undefined {
  try {
    return readIfExists(path);
  } catch {
    return undefined;
  }
}

/** The record in pki.dir: read once per run, consulted per pair, written back when what it holds changed. */
export class CheckRecord {
  private readonly entries: Map<string, LeafFacts>;
  private readonly text: string | undefined;

  /** Reads the record at `path` for the CA the run signs with; damage or another CA gives an empty record, never an error. */
  constructor(private readonly path: string, private readonly ca: RecordCa) {
    this.text = readable(path);
    this.entries = entriesOf(this.text, ca);
  }

  /** The facts recorded for exactly these texts, or undefined: then the pair needs the full check. */
  factsOf(pair: IssuedPair): LeafFacts | undefined {
    return this.entries.get(pairHash(pair));
  }

  /**
   * Writes the record with the pairs now in the folder and their facts (the configuration's leaves,
   * in order: the pairs of removed identities drop out), unless it already says exactly that.
   */
  write(pairs: ReadonlyArray<{ readonly pair: IssuedPair; readonly facts: LeafFacts }>): void {
    const body: Body = { ca: sha256(this.ca.cert).toString('hex'), pairs: Object.fromEntries(pairs.map(({ pair, facts }) => [pairHash(pair), facts])) };
    const bodyText = `${JSON.stringify(body)}\n`;
    const text = `${FORMAT} hmac-sha256=${seal(this.ca, bodyText).toString('hex')}\n${bodyText}`;
    if (text !== this.text) writeFileAtomic(this.path, text, KEY_MODE);
  }
}
