import { checkClusterServers, CLUSTER_CHECK, degradation } from './cluster-servers';
import { checkEcho, checkHttps } from './echo';
import { checkJetStream, JETSTREAM_CHECK } from './jetstream-check';
import { loadKeyMaterial } from './keys';
import { checkNatsCases } from './nats-identities';
import { checkServedCertificate, SERVED_CHECK } from './nats-server-certificate';
import type { VerifyOptions } from './options';
import { ProgressBoard, type ProgressOptions } from './progress';
import type { CheckResult } from './report';

/**
 * `npm run verify`: proves a running deployment behaves as configured — http-echo answers through
 * Traefik over HTTP, and over HTTPS with a certificate keys/ca.crt vouches for; every authorized identity can publish over mutual TLS (or, with permissions, is allowed
 * and refused exactly what they say), every other identity is refused by NATS authorization, a
 * client without a certificate is refused by TLS, and the server presents keys/server.crt. With
 * nats.replicas > 1 every server must answer by name (lib/verify/cluster-servers.ts); with JetStream
 * on, a throwaway stream replicated on nats.replicas servers proves the cluster (lib/verify/jetstream.ts).
 */

/**
 * Runs every check at once against one deadline, so the whole run takes about `timeoutMs` at most
 * whatever answers (or does not). `onResult` sees each result as it completes; `progress.onProgress`
 * hears which checks are still retrying, and why; the returned list is in table order.
 */
export async function runVerify(
  options: VerifyOptions, onResult: (result: CheckResult) => void = () => {}, progress: ProgressOptions = {},
): Promise<CheckResult[]> {
  const keys = loadKeyMaterial(options);
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const board = new ProgressBoard(started, progress);
  const report = (check: string) => (results: CheckResult[]): CheckResult[] => {
    board.done(check);
    results.forEach(onResult);
    return results;
  };
  try {
    const cluster = options.replicas > 1 ? checkClusterServers(options, keys, deadline, board).then(report(CLUSTER_CHECK)) : undefined;
    const rows = await Promise.all([
      checkEcho(options, deadline, board).then((result) => report(result.check)([result])),
      checkHttps(options, keys, deadline, board).then((result) => report(result.check)([result])),
      ...checkNatsCases(options, keys, deadline, board).map(({ check, results }) => results.then(report(check))),
      checkServedCertificate(options, keys, deadline, board).then(report(SERVED_CHECK)),
      ...(cluster ? [cluster] : []),
      ...(options.replicas > 1 || options.jetstream
        ? [checkJetStream(options, keys, deadline, board, cluster?.then(degradation)).then(report(JETSTREAM_CHECK))] : []),
    ]);
    return rows.flat();
  } finally {
    board.stop();
  }
}
