import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { Identity } from '../config/config';
import { probe } from '../nats/permissions';
import { permissionCases, type Access, type PermissionCase } from '../nats/subjects';
import { bounded } from './bounded';
import type { KeyMaterial } from './keys';
import { causeOf, classifyConnectError, describeOutcome, type NatsOutcome, type ProbeResult } from './nats-outcome';
import {
  awaitGreeting, NATS_TIMEOUT_GRACE_MS, natsTarget, retryNats, type NatsSession, type ReloadPending, type SessionStep,
} from './nats-session';
import type { VerifyOptions } from './options';
import type { ProgressBoard } from './progress';
import { quoted, type CheckResult, type IdentityFacts, type Row } from './report';

/**
 * Who NATS admits: each identity with its own certificate (a round trip, or each permission rule
 * tried once admitted) and a client without one — a bounded number of them at a time.
 */

/**
 * Identities checked at once. Each check is a TLS handshake with a client certificate and a few
 * round trips, and nats-server closes a client whose TLS handshake takes over 2 s (its default
 * tls timeout). Measured with 1,000 identities against nats-server 2.14.2 on a busy 2-core machine:
 * 8 at once took 30 s, 16 took 22 s, and at 32 the handshakes queued so long in this process that
 * the server closed over a hundred of them.
 */
export const NATS_CHECKS_AT_ONCE = 16;

type ExpectedKind = 'round-trip' | 'authorization-violation' | 'tls-refused';

const EXPECTED_TEXT: Record<ExpectedKind, string> = {
  'round-trip': 'admitted: publishes and receives',
  'authorization-violation': 'refused: Authorization Violation',
  'tls-refused': 'refused by TLS handshake',
};

/** Publishes on a fresh subject and waits for the server to deliver it back. */
async function roundTrip(nc: NatsConnection, label: string, ms: number): Promise<NatsOutcome> {
  const subject = `verify.${label}.${randomBytes(4).toString('hex')}`;
  const payload = `verify ${label} ${new Date().toISOString()}`;
  try {
    const received = new Promise<string>((resolveMessage, reject) => {
      nc.subscribe(subject, {
        max: 1,
        timeout: ms,
        callback: (error, message) => (error ? reject(error) : resolveMessage(message.string())),
      });
    });
    nc.publish(subject, payload);
    const text = await received;
    return text === payload ? { kind: 'round-trip' } : { kind: 'admitted', detail: `received ${quoted(text)} instead of its own message` };
  } catch (error) {
    return { kind: 'admitted', detail: `but its message did not come back (${(error as Error).message})` };
  }
}

/** Tries each permission case on the one connection, in order: the probes share its status events. */
async function tryPermissions(nc: NatsConnection, cases: readonly PermissionCase[]): Promise<NatsOutcome> {
  const results: ProbeResult[] = [];
  for (const { operation, subject } of cases) {
    results.push(await probe(nc, operation, subject).catch((error: unknown) => ({ error: (error as Error).message ?? String(error) })));
  }
  return { kind: 'probed', results };
}

async function connectAndTry(options: VerifyOptions, natsCase: NatsCase, ms: number, step: SessionStep): Promise<NatsOutcome> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.natsUrl, tls: natsCase.tls, timeout: ms + NATS_TIMEOUT_GRACE_MS, reconnect: false, name: `verify-${natsCase.label}`,
    });
  } catch (error) {
    return classifyConnectError(error, ms);
  }
  step.admitted = true;
  try {
    return natsCase.permissions ? await tryPermissions(nc, natsCase.permissions) : await roundTrip(nc, natsCase.label, ms);
  } finally {
    await nc.close();
  }
}

interface NatsCase {
  readonly check: string;
  readonly label: string;
  /** Absent for the client without a certificate. */
  readonly identity?: Identity;
  readonly expect: ExpectedKind;
  readonly tls: NonNullable<NodeConnectionOptions['tls']>;
  /** An identity with permissions: the cases to try once admitted, a row each, instead of the round trip. */
  readonly permissions?: readonly PermissionCase[];
}

function identityCase(identity: Identity, keys: KeyMaterial): NatsCase {
  const cases = identity.authorized && identity.permissions ? permissionCases(identity.permissions) : [];
  return {
    check: `nats ${identity.name} (${identity.authorized ? 'authorized' : 'not authorized'})`,
    label: identity.name,
    identity,
    expect: identity.authorized ? 'round-trip' : 'authorization-violation',
    tls: { ...keys.identities.get(identity.name), ca: keys.ca },
    // Permissions that name no subject leave nothing to try: the round trip still proves admission.
    permissions: cases.length > 0 ? cases : undefined,
  };
}

export function natsCases(options: VerifyOptions, keys: KeyMaterial): NatsCase[] {
  const cases = options.identities.map((identity) => identityCase(identity, keys));
  cases.push({ check: 'nats without client certificate', label: 'no-certificate', expect: 'tls-refused', tls: { ca: keys.ca } });
  return cases;
}

/** Admitted and working (or refused) as the configuration says, the opposite, or neither. */
function admissionOf(identity: Identity, outcome: NatsOutcome): IdentityFacts['admission'] {
  const admitted = outcome.kind === 'round-trip' || outcome.kind === 'probed' || outcome.kind === 'admitted';
  const refused = outcome.kind === 'authorization-violation';
  // Admitted without its own message coming back is no working identity, and no refusal either.
  if (identity.authorized) return outcome.kind === 'round-trip' || outcome.kind === 'probed' ? 'as-configured' : refused ? 'opposite' : 'neither';
  return refused ? 'as-configured' : admitted ? 'opposite' : 'neither';
}

function identityRow(options: VerifyOptions, natsCase: NatsCase, outcome: NatsOutcome): Row {
  const ok = outcome.kind === natsCase.expect;
  const got = describeOutcome(outcome, options);
  const { identity } = natsCase;
  return {
    check: natsCase.check, expected: EXPECTED_TEXT[natsCase.expect], got, ok, cause: ok ? undefined : causeOf(outcome, options),
    identity: identity && { name: identity.name, kind: identity.authorized ? 'authorized' : 'not authorized', admission: admissionOf(identity, outcome) },
  };
}

const accessText = ({ operation, subject }: PermissionCase, access: Access, seen = false): string =>
  `${operation} to ${subject} ${access === 'allowed' ? 'allowed' : seen ? 'refused (Permissions Violation)' : 'refused'}`;

const permissionsCause = (name: string): string =>
  `the server's permissions for ${name} differ from the configuration: run \`npx zx scripts/up.mjs\` to deploy them`;

/** A row per permission case; when the connection itself failed, each carries that failure. */
function permissionRows(options: VerifyOptions, natsCase: NatsCase, cases: readonly PermissionCase[], outcome: NatsOutcome): Row[] {
  const admission = admissionOf(natsCase.identity!, outcome);
  return cases.map((permissionCase, index): Row => {
    const check = `nats ${natsCase.label} ${permissionCase.rule}`;
    const expected = accessText(permissionCase, permissionCase.expected);
    const identity: IdentityFacts = { name: natsCase.label, kind: `${permissionCase.operation} ${permissionCase.kind}`, admission };
    if (outcome.kind !== 'probed') return { check, expected, got: describeOutcome(outcome, options), ok: false, cause: causeOf(outcome, options), identity };
    const result = outcome.results[index];
    if (typeof result !== 'string') return { check, expected, got: `error: ${result.error}`, ok: false, identity };
    const ok = result === permissionCase.expected;
    return { check, expected, got: accessText(permissionCase, result, true), ok, cause: ok ? undefined : permissionsCause(natsCase.label), identity };
  });
}

/** Permissions not (yet) as configured: the server may not have reloaded the ConfigMap `up` applied. */
const permissionsPending = (natsCase: NatsCase): ReloadPending => (outcome) => {
  if (outcome.kind !== 'probed' || !natsCase.permissions) return undefined;
  const wrong = natsCase.permissions.filter(({ expected }, index) => {
    const result = outcome.results[index];
    return typeof result === 'string' && result !== expected;
  });
  if (wrong.length === 0) return undefined;
  return `${natsCase.label}'s permissions not as configured yet: ${wrong.map(({ rule }) => rule).join(', ')}`;
};

function resultsOf(options: VerifyOptions, natsCase: NatsCase, outcome: NatsOutcome, started: number): CheckResult[] {
  const rows = natsCase.permissions ? permissionRows(options, natsCase, natsCase.permissions, outcome) : [identityRow(options, natsCase, outcome)];
  const ms = Date.now() - started;
  return rows.map((row) => ({ ...row, endpoint: options.natsUrl, unreachable: outcome.kind === 'unreachable', ms }));
}

async function checkNats(options: VerifyOptions, natsCase: NatsCase, deadline: number, progress: ProgressBoard): Promise<CheckResult[]> {
  const started = Date.now();
  const session: NatsSession = (ms, step) => connectAndTry(options, natsCase, ms, step);
  const outcome = await retryNats(options, natsCase.check, deadline, progress, session, permissionsPending(natsCase));
  return resultsOf(options, natsCase, outcome, started);
}

/** A NATS case's check name, and its rows once it is done. */
export interface PendingNatsCheck {
  readonly check: string;
  readonly results: Promise<CheckResult[]>;
}

/**
 * Every identity's case and the client without a certificate, in table order. They wait for one
 * greeting of the server (what a server that is down or no NATS server answers is the same for
 * all), then run NATS_CHECKS_AT_ONCE at a time; a case whose turn comes after the deadline is not
 * tried, so that the run stays bounded by it however many identities there are.
 */
export function checkNatsCases(options: VerifyOptions, keys: KeyMaterial, deadline: number, progress: ProgressBoard): PendingNatsCheck[] {
  const started = Date.now();
  const cases = natsCases(options, keys);
  const target = natsTarget(options);
  const waitAll = (reason?: string) => cases.forEach(({ check }) => progress.waiting(check, target, reason));
  waitAll();
  const greeting = awaitGreeting(options, deadline, waitAll);
  const atOnce = bounded(NATS_CHECKS_AT_ONCE);
  return cases.map((natsCase) => ({
    check: natsCase.check,
    results: greeting.then((refused) => {
      if (refused) return resultsOf(options, natsCase, refused, started);
      if (cases.length > NATS_CHECKS_AT_ONCE) progress.waiting(natsCase.check, target, `queued (${NATS_CHECKS_AT_ONCE} identities at a time)`);
      return atOnce(async () => (Date.now() >= deadline
        ? resultsOf(options, natsCase, { kind: 'not-tried', atOnce: NATS_CHECKS_AT_ONCE }, started)
        : checkNats(options, natsCase, deadline, progress)));
    }),
  }));
}
