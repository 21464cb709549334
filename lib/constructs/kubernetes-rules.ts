import { isIP } from 'node:net';

/**
 * Kubernetes' rules for names and values (apimachinery's validation, as the API server applies
 * them) and the value rules of what this project deploys: one table, so the constructs' prop checks
 * and the configuration schema (lib/config/config.ts) can never accept different things. Each
 * consumer words its own message; the rule itself lives only here.
 */

/** RFC 1123 label: Namespaces, Services, Secrets, Helm releases; at most 63 characters. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** RFC 1123 subdomain: dot-separated labels, at most 253 characters. */
export const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export const isDnsLabel = (name: string): boolean => DNS_LABEL.test(name);

/** A name a certificate and a client can use: a DNS name or an IP address. */
export const isHostName = (host: string): boolean => DNS_NAME.test(host) || isIP(host) !== 0;

/** Helm's limit for release names (it appends suffixes of its own to reach 63). */
export const HELM_RELEASE_MAX_LENGTH = 53;

/** The API server's default service-node-port-range. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

export const isNodePort = (port: number): boolean => Number.isInteger(port) && port >= NODE_PORT_RANGE.min && port <= NODE_PORT_RANGE.max;

/** The highest TCP port. */
export const PORT_MAX = 65535;

/** The lowest port a process that is not root may bind. */
export const UNPRIVILEGED_PORT_MIN = 1024;

/** A volume size as Kubernetes writes quantities, in the binary units a volume is sized in. */
export const STORAGE_SIZE = /^[1-9]\d*(Mi|Gi|Ti)$/;

export const isStorageSize = (size: string): boolean => STORAGE_SIZE.test(size);

/** NATS servers in a StatefulSet: one, or an odd number for a quorum; more than five only adds latency. */
export const NATS_REPLICA_COUNTS: readonly number[] = [1, 3, 5];

export const isNatsReplicaCount = (replicas: number): boolean => NATS_REPLICA_COUNTS.includes(replicas);

/** The counts in words, for messages: `1, 3 or 5`. */
export const NATS_REPLICA_CHOICE = `${NATS_REPLICA_COUNTS.slice(0, -1).join(', ')} or ${NATS_REPLICA_COUNTS[NATS_REPLICA_COUNTS.length - 1]}`;

/** The namespace of objects that name none. */
export const DEFAULT_NAMESPACE = 'default';

/** Namespaces that belong to Kubernetes itself: our objects (and `down --context`) stay out of them. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/** Namespaces every cluster has: never declared by this project, so `down --context` can never delete them. */
export const BUILT_IN_NAMESPACES: readonly string[] = [DEFAULT_NAMESPACE, ...SYSTEM_NAMESPACES];
