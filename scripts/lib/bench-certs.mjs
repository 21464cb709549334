// Measures the dev PKI (CA + server + 2 clients, RSA 2048, 1000 days) three ways on this machine, in
// the same rounds so load on the machine hits all three alike: the recipe's openssl commands, the
// whole `npm run certs -- --force` process, and ensurePki() alone inside a warm process.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { median, seconds, timed } from './timing.mjs';

const require = createRequire(import.meta.url);
require('./ts-hook.cjs');
/** @type {typeof import('../../test/support/project-copy.ts')} */
const { copyProject } = require('../../test/support/project-copy.ts');

// The recipe's certificate.conf, unchanged.
const CERTIFICATE_CONF = `[req]
default_bits = 2048
prompt = no
default_md = sha256
req_extensions = req_ext
distinguished_name = dn
[dn]
C = TW
ST = New Taipei City
O = Your organization
CN = localhost
[req_ext]
subjectAltName = @alt_names
[alt_names]
DNS.1 = kubernetes
DNS.2 = kubernetes.default
DNS.3 = kubernetes.default.svc
DNS.4 = kubernetes.default.svc.cluster
DNS.5 = kubernetes.default.svc.cluster.local
DNS.6 = localhost
IP.1 = 127.0.0.1
IP.2 = 172.17.34.52
IP.3 = 192.168.0.15
[v3_ext]
authorityKeyIdentifier=keyid,issuer:always
basicConstraints=CA:FALSE
keyUsage=keyEncipherment,dataEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=@alt_names
`;

// The recipe's gen.sh with its one bug fixed: \`$(PWD)\` runs a command named PWD, so client1's
// extension file is read relative to keys/ like the others.
const GEN_SH = `set -e
mkdir -p keys
cd keys
openssl genrsa -out ca.key 2048
openssl req -x509 -new -nodes -key ca.key -subj "/CN=localhost" -days 1000 -out ca.crt
openssl genrsa -out server.key 2048
openssl req -new -key server.key -out server.csr -config ../certificate.conf
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1000 -extensions v3_ext -extfile ../certificate.conf
openssl genrsa -out client1.key 2048
openssl req -new -key client1.key -out client1.csr -config ../certificate.conf
openssl x509 -req -in client1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client1.crt -days 1000 -extensions v3_ext -extfile <(sed 's/IP.3 = 192.168.0.15/&\\nemail.1 = client1@example.com/' ../certificate.conf)
openssl genrsa -out client2.key 2048
openssl req -new -key client2.key -out client2.csr -config ../certificate.conf
openssl x509 -req -in client2.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client2.crt -days 1000 -extensions v3_ext -extfile ../certificate.conf
`;

/**
 * @param {{ runs?: number, onRound?: (round: number) => void }} options
 * @returns {Promise<{ runs: number, openssl: number, process: number, inProcess: number }>} median seconds
 */
export async function measureCerts({ runs = 7, onRound = () => {} } = {}) {
  /** @type {typeof import('../../lib/config/config.ts')} */
  const { parseConfig } = require('../../lib/config/config.ts');
  /** @type {typeof import('../../lib/pki/pki.ts')} */
  const { ensurePki } = require('../../lib/pki/pki.ts');
  const work = mkdtempSync(path.join(tmpdir(), 'bench-certs-'));
  try {
    const recipeDir = path.join(work, 'recipe');
    const processDir = path.join(work, 'process');
    const inProcessDir = path.join(work, 'in-process');
    for (const dir of [recipeDir, processDir, inProcessDir]) mkdirSync(dir);
    writeFileSync(path.join(recipeDir, 'certificate.conf'), CERTIFICATE_CONF);
    writeFileSync(path.join(recipeDir, 'gen.sh'), GEN_SH);
    // `npm run certs` works on the project it lives in: a scratch copy, so keys/ here is not touched.
    const project = copyProject(processDir);
    const certs = [path.join(project, 'scripts', 'certs.mjs'), '--force'];
    const env = { ...process.env, K3S_NATS_TLS_CONFIG: '', CDK8S_OUTDIR: '' };
    const config = parseConfig({});

    // Warm-up, not measured: node-forge in this process, the page cache.
    timed(process.execPath, certs, { cwd: project, env });
    await ensurePki(config, { baseDir: inProcessDir, force: true });

    /** @type {{ openssl: number[], process: number[], inProcess: number[] }} */
    const samples = { openssl: [], process: [], inProcess: [] };
    for (let round = 1; round <= runs; round++) {
      rmSync(path.join(recipeDir, 'keys'), { recursive: true, force: true });
      samples.openssl.push(timed('bash', ['gen.sh'], { cwd: recipeDir }));
      samples.process.push(timed(process.execPath, certs, { cwd: project, env }));
      const start = process.hrtime.bigint();
      await ensurePki(config, { baseDir: inProcessDir, force: true });
      samples.inProcess.push(seconds(start));
      onRound(round);
    }
    return { runs, openssl: median(samples.openssl), process: median(samples.process), inProcess: median(samples.inProcess) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
