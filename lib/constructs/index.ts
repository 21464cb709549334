// The importable constructs of this project: use them in your own cdk8s app.
export { HttpEcho, HTTP_ECHO_DEFAULTS, TRAEFIK_TLS_ANNOTATIONS, type HttpEchoProps, type HttpEchoTlsProps } from './http-echo';
export {
  K3S_HELMCHART_NAMESPACE, NATS_MUTUAL_TLS_DEFAULTS, NatsMutualTls, type NatsInstall, type NatsJetStreamProps, type NatsMutualTlsProps,
  type NatsNodePortProps, type ServerTlsMaterial,
} from './nats-mutual-tls';
export { tlsSecret } from './tls-secret';
export { InvalidPropsError } from '../util/errors';
