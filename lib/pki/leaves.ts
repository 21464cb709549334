import { isIP } from 'node:net';
import { natsRouteHostnamesOf, natsServiceHostnames, type Config } from '../config/config';
import { PkiError } from '../util/errors';
import { listed } from '../util/listed';
import { FORCE_HINT } from './force-hint';
import type { LeafSpec } from './issue';
import { CA_STEM, ECHO_LEAF, ROUTE_LEAF, SERVER_LEAF, type PkiPaths } from './paths';

/** Which certificates the configuration asks for, and what each must assert. */

export const CA_COMMON_NAME = 'k3s-nats-tls dev CA';
const ECHO_COMMON_NAME = 'k3s-nats-tls echo';
const ROUTE_COMMON_NAME = 'k3s-nats-tls NATS route';
const SERVER_COMMON_NAME = 'k3s-nats-tls NATS server';

export interface Leaf {
  /** `server`, or the identity's name: what `--renew` names. */
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly spec: LeafSpec;
}

const unique = (values: string[]): string[] => [...new Set(values)];

/** The NATS server's, http-echo's and every identity's certificate, as the configuration wants them. */
export function leavesOf(config: Config, paths: PkiPaths): Leaf[] {
  const server: Leaf = {
    name: SERVER_LEAF,
    certPath: paths.serverCert,
    keyPath: paths.serverKey,
    spec: {
      commonName: SERVER_COMMON_NAME,
      dnsNames: unique(['localhost', ...natsServiceHostnames(config.nats), ...config.pki.server.extraDnsNames]),
      ips: unique(['127.0.0.1', ...config.pki.server.extraIps]),
      emails: [],
      usages: ['serverAuth'],
    },
  };
  const echo: Leaf = {
    name: ECHO_LEAF,
    certPath: paths.echoCert,
    keyPath: paths.echoKey,
    spec: {
      commonName: ECHO_COMMON_NAME,
      dnsNames: unique(config.echo.tls.hosts.filter((host) => isIP(host) === 0)),
      ips: unique(config.echo.tls.hosts.filter((host) => isIP(host) !== 0)),
      emails: [],
      usages: ['serverAuth'],
    },
  };
  const clients = config.pki.identities.map((identity): Leaf => ({
    name: identity.name,
    certPath: paths.identityCert(identity.name),
    keyPath: paths.identityKey(identity.name),
    spec: {
      commonName: identity.name,
      dnsNames: [],
      ips: [],
      emails: identity.email === undefined ? [] : [identity.email],
      usages: ['clientAuth'],
    },
  }));
  if (config.nats.replicas === 1) return [server, echo, ...clients];
  // A route both dials and accepts, so its certificate serves both ends of the mutual TLS.
  const route: Leaf = {
    name: ROUTE_LEAF,
    certPath: paths.routeCert,
    keyPath: paths.routeKey,
    spec: {
      commonName: ROUTE_COMMON_NAME,
      dnsNames: unique(['localhost', ...natsRouteHostnamesOf(config.nats)]),
      ips: ['127.0.0.1'],
      emails: [],
      usages: ['serverAuth', 'clientAuth'],
    },
  };
  return [server, route, echo, ...clients];
}

/** Refuses `--renew` names that are no certificate of this configuration, listing those it knows. */
export function checkRenewNames(config: Config, names: readonly string[]): void {
  if (names.includes(CA_STEM)) {
    throw new PkiError(`cannot renew '${CA_STEM}' alone: a new CA means new certificates for everyone — \`${FORCE_HINT}\` replaces them all (every client then needs its new files)`);
  }
  const known = [SERVER_LEAF, ...(config.nats.replicas > 1 ? [ROUTE_LEAF] : []), ECHO_LEAF, ...config.pki.identities.map(({ name }) => name)];
  const knownSet = new Set(known);
  const unknown = names.filter((name) => !knownSet.has(name));
  if (unknown.length > 0) {
    throw new PkiError(`cannot renew ${unknown.map((name) => `'${name}'`).join(', ')}: not a certificate of this configuration (known: ${listed(known)})`);
  }
}
