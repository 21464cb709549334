import { join } from 'node:path';
import type { Config } from '../config/config';
import { pkiDirSetting } from '../config/layout';
import { projectFolder } from '../util/project-folder';

/** Where each file of the dev PKI lives in `config.pki.dir`. */

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** The NATS routes' certificate, when the configuration asks for a cluster. */
  routeCert: string;
  routeKey: string;
  /** http-echo's HTTPS certificate, which Traefik serves. */
  echoCert: string;
  echoKey: string;
  /** What the PKI already checked (lib/pki/check-record.ts). */
  checkRecord: string;
  identityCert(name: string): string;
  identityKey(name: string): string;
}

/** The file stem of the CA; `--renew` refuses it (a new CA means new certificates for everyone). */
export const CA_STEM = 'ca';
/** The check record's file name: a dot file, so no identity's files can be named like it. */
export const CHECK_RECORD = '.checked-pairs';
/** The names `--renew` knows the server and the route certificates by, and their file stems. */
export const SERVER_LEAF = 'server';
export const ROUTE_LEAF = 'route';
/** The name `--renew` knows http-echo's HTTPS certificate by, and its file stem. */
export const ECHO_LEAF = 'echo';

/** The PKI's files in `config.pki.dir`, which must lie inside the project folder `baseDir`. */
export function pkiPaths(config: Pick<Config, 'pki'>, baseDir: string = process.cwd()): PkiPaths {
  return pkiFilesIn(projectFolder(baseDir, pkiDirSetting(config)));
}

/** The PKI's file names in `dir`, wherever that is (verify reads keys from any folder). */
export function pkiFilesIn(dir: string): PkiPaths {
  return {
    dir,
    caCert: join(dir, `${CA_STEM}.crt`),
    caKey: join(dir, `${CA_STEM}.key`),
    serverCert: join(dir, `${SERVER_LEAF}.crt`),
    serverKey: join(dir, `${SERVER_LEAF}.key`),
    routeCert: join(dir, `${ROUTE_LEAF}.crt`),
    routeKey: join(dir, `${ROUTE_LEAF}.key`),
    echoCert: join(dir, `${ECHO_LEAF}.crt`),
    echoKey: join(dir, `${ECHO_LEAF}.key`),
    checkRecord: join(dir, CHECK_RECORD),
    identityCert: (name) => join(dir, `${name}.crt`),
    identityKey: (name) => join(dir, `${name}.key`),
  };
}

/** The key file beside a certificate file. */
export const keyFileOf = (certPath: string): string => certPath.replace(/\.crt$/, '.key');
