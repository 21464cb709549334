// The importable constructs of this project: use them in your own cdk8s app.
export { HttpEcho, type HttpEchoProps } from './http-echo';
export { NatsMutualTls, type NatsJetStreamProps, type NatsMutualTlsProps, type NatsNodePortProps, type ServerTlsMaterial } from './nats-mutual-tls';
export { InvalidPropsError } from './check-props';
