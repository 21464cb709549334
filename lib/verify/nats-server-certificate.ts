import type { X509Certificate } from 'node:crypto';
import { displayPath } from '../util/display-path';
import type { KeyMaterial } from './keys';
import { causeOf, classifyConnectError, describeOutcome, FOREIGN_CA_CAUSE, greetingFailure, type NatsOutcome } from './nats-outcome';
import { natsAddress, retryNats, stalledOutcome, type NatsSession, type ReloadPending, type SessionStep } from './nats-session';
import type { VerifyOptions } from './options';
import { readServedCertificate } from './probe';
import type { ProgressBoard } from './progress';
import type { CheckResult, Row } from './report';

/** The certificate the NATS server presents, compared with keys/server.crt. */

export const SERVED_CHECK = 'nats server certificate';
const OLDER_CERTIFICATE = 'the cluster still serves an older certificate: run up';

/** Any of our client certificates lets a server that requires one finish the handshake over TLS 1.2 too. */
async function servedCertificate(options: VerifyOptions, keys: KeyMaterial, ms: number, step: SessionStep): Promise<NatsOutcome> {
  const { host, port } = natsAddress(options);
  const [client] = keys.identities.values();
  const handshake = await readServedCertificate(host, port, { ca: keys.ca, ...client }, ms);
  switch (handshake.kind) {
    case 'certificate': return { kind: 'served', certificate: handshake.certificate };
    case 'no-info': return greetingFailure(handshake.greeting, ms);
    case 'failed': return classifyConnectError(handshake.error, ms);
    case 'timed-out': return stalledOutcome(ms, step);
  }
}

const shortFingerprint = (certificate: X509Certificate): string => `${certificate.fingerprint256.slice(0, 11)}…`;

/** Subject, names, expiry and fingerprint of what the server presents: the line under the table. */
const describeServed = (served: X509Certificate): string =>
  `${SERVED_CHECK}: subject ${served.subject.replace(/\n/g, ', ')}; SANs ${served.subjectAltName ?? 'none'}; ` +
  `not after ${served.validTo}; SHA-256 ${served.fingerprint256}`;

/** keys/server.crt byte for byte (same fingerprint); another from our CA; one from another CA; or nothing to compare with. */
type Served = 'same' | 'another' | 'foreign-ca' | 'unchecked';

function compareServed(served: X509Certificate, keys: KeyMaterial): Served {
  const ours = keys.serverCertificate;
  if (ours && served.fingerprint256 === ours.fingerprint256) return 'same';
  if (!served.checkIssued(keys.caCertificate) || !served.verify(keys.caCertificate.publicKey)) return 'foreign-ca';
  return ours ? 'another' : 'unchecked';
}

function judgeServed(served: X509Certificate, options: VerifyOptions, keys: KeyMaterial): Omit<Row, 'check' | 'expected'> {
  const detail = describeServed(served);
  const file = displayPath(options.keys.serverCert);
  switch (compareServed(served, keys)) {
    case 'same': return { got: `the same (SHA-256 ${shortFingerprint(served)})`, ok: true, detail };
    case 'unchecked': return { got: `SHA-256 ${shortFingerprint(served)}`, ok: true, detail };
    case 'foreign-ca':
      return { got: `a certificate from another CA than ${displayPath(options.keys.caCert)}`, ok: false, cause: FOREIGN_CA_CAUSE, detail };
    case 'another': return {
      got: `${OLDER_CERTIFICATE} (npx zx scripts/up.mjs)`,
      ok: false,
      cause: `${OLDER_CERTIFICATE} (\`npx zx scripts/up.mjs\`) so that it presents ${file}`,
      detail: `${detail}; ${file} has SHA-256 ${keys.serverCertificate?.fingerprint256}`,
    };
  }
}

/** Another certificate from our CA: the server may not have reloaded the Secret `up` applied. */
const servedPending = (options: VerifyOptions, keys: KeyMaterial): ReloadPending => (outcome) =>
  (outcome.kind === 'served' && compareServed(outcome.certificate, keys) === 'another'
    ? `the server still presents another certificate than ${displayPath(options.keys.serverCert)}`
    : undefined);

export async function checkServedCertificate(
  options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard,
): Promise<CheckResult[]> {
  const started = Date.now();
  const session: NatsSession = (ms, step) => servedCertificate(options, keys, ms, step);
  const outcome = await retryNats(options, SERVED_CHECK, deadline, progress, session, servedPending(options, keys));
  const verdict = outcome.kind === 'served'
    ? judgeServed(outcome.certificate, options, keys)
    : { got: describeOutcome(outcome, options), ok: false, cause: causeOf(outcome, options) };
  const file = displayPath(options.keys.serverCert);
  const expected = keys.serverCertificate ? `the same as ${file}` : `any (no ${file} to compare with)`;
  const unreachable = outcome.kind === 'unreachable';
  return [{ check: SERVED_CHECK, endpoint: options.natsUrl, expected, ...verdict, unreachable, ms: Date.now() - started }];
}
