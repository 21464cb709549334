import { Construct } from 'constructs';
import { k8s } from '../../imports/k8s';

/**
 * A `kubernetes.io/tls` Secret from PEM texts, keyed `tls.crt`, `tls.key` (and `ca.crt` where a
 * server needs its CA). Base64 `data` rather than `stringData`, so the file shows no PEM armour.
 */
export function tlsSecret(scope: Construct, id: string, metadata: { name: string; namespace: string }, pems: Record<string, string>): k8s.KubeSecret {
  const data = Object.fromEntries(Object.entries(pems).map(([key, pem]) => [key, Buffer.from(pem, 'utf8').toString('base64')]));
  return new k8s.KubeSecret(scope, id, { metadata, type: 'kubernetes.io/tls', data });
}
