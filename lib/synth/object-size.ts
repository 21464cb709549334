import type { NatsMutualTls } from '../constructs';
import type { NatsChartValues } from '../nats/values';
import { UserError } from '../util/errors';

/**
 * The API server's size limits that a fleet's users can reach, checked at synth so that `up` never
 * fails half-way through an apply. Every object `up` applies goes through client-side `kubectl
 * apply`, which keeps a copy of the whole object in its last-applied annotation: server-side apply
 * would not, but kubectl refuses `--prune` with `--server-side` unless pruning by ApplySet
 * (apply.go: "--prune is in alpha and doesn't currently work on objects created by server-side
 * apply"), and its label-selector prune deletes only objects carrying that annotation (prune.go).
 * The users grow two objects: the chart's ConfigMap holding nats.conf (`template`: rendered by
 * `helm template`, applied by up) and the HelmChart carrying the values (`helmchart`: applied by up;
 * k3s's helm controller then renders the same ConfigMap and creates it with helm, without the
 * annotation).
 */

/** kubectl's copy of the applied object. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** An object's annotations together, keys and values (apimachinery's TotalAnnotationSizeLimitB). */
export const ANNOTATIONS_LIMIT = 256 * 1024;

/** A ConfigMap's data values together (core/v1 MaxSecretSize, which ConfigMaps share). */
export const CONFIG_MAP_LIMIT = 1024 * 1024;

/**
 * Bytes of a JSON value as Go's encoding/json writes it — what kubectl stores in the annotation
 * (unstructured's encoder: escapes <, > and & as \u003c…, U+2028/U+2029 too, then a newline).
 */
export function goJsonBytes(value: unknown): number {
  const json = JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Buffer.byteLength(json, 'utf8') + 1;
}

/**
 * What the last-applied annotation of `object` adds to its annotations: the key and Go's JSON of the
 * object, with the (then empty) annotations kubectl sets before encoding it (GetModifiedConfiguration).
 */
export function lastAppliedBytes(object: { readonly metadata?: { readonly annotations?: object } }): number {
  const annotated = { ...object, metadata: { ...object.metadata, annotations: object.metadata?.annotations ?? {} } };
  return LAST_APPLIED_ANNOTATION.length + goJsonBytes(annotated);
}

/** Go's json.MarshalIndent(value, "", "  ") with sorted keys, as helm's toPrettyJson writes it (before the chart unescapes <, >, &). */
function prettyJson(value: unknown): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((key) => [key, sorted((v as Record<string, unknown>)[key])]));
    return v;
  };
  return JSON.stringify(sorted(value), null, 2);
}

/**
 * The `authorization` lines of the nats.conf the NATS chart 2.14.2 renders into its ConfigMap,
 * byte for byte: the chart merges `config.merge` into the server's configuration, writes it with
 * toPrettyJson (keys sorted, two-space indent), turns \u003c/\u003e/\u0026 back into <, >, & and
 * indents it as a block under `nats.conf: |` (its files/config-map.yaml and nats.formatConfig),
 * which YAML takes off again. `authorization` is a key of the top level: its lines are two spaces in
 * (the separator after it is the allowances' part).
 */
export function renderedAuthorization(values: NatsChartValues): string {
  const block = `"authorization": ${prettyJson(values.config.merge.authorization)}`;
  return block.split('\n').map((line) => `  ${line}`).join('\n');
}

/**
 * Upper bounds on what the chart renders besides `authorization`, whatever the configuration
 * (five servers, JetStream, the longest names the configuration allows), measured with helm
 * 3.22 on chart 2.14.2 (docs/fleets.md: 1.6 KiB and 2.4 KiB): the rest of nats.conf, and the rest
 * of the ConfigMap (metadata, labels) in kubectl's annotation, where nats.conf is escaped once more.
 */
export const CHART_CONF_ALLOWANCE = 3 * 1024;
export const CHART_ANNOTATION_ALLOWANCE = 5 * 1024;

const LAST_APPLIED_MEASURE = "in kubectl's last-applied annotation";

/** One object up applies (or the chart renders) and its size against the limit that applies to it. */
export interface ObjectSize {
  /** The object and who writes it, as the message names them: `the ConfigMap nats/nats-config that up applies`. */
  readonly object: string;
  /** Where the bytes are: `in kubectl's last-applied annotation`, `in its data`. */
  readonly measure: string;
  readonly bytes: number;
  readonly limit: number;
  /** The part that grows with the users, for how many would fit. */
  readonly perUsers: number;
}

/** The sizes that grow with the users, for the installer the configuration uses. */
export function fleetObjectSizes(nats: NatsMutualTls): ObjectSize[] {
  const configMap = `ConfigMap ${nats.namespace}/${nats.chartObjects.configMap}`;
  const authorization = renderedAuthorization(nats.helmValues);
  if (nats.helmChart) {
    const helmChart = nats.helmChart.toJson() as { metadata?: { annotations?: object }; spec?: { valuesContent?: string } };
    return [
      {
        object: `the HelmChart ${nats.helmChart.metadata.namespace}/${nats.helmChart.name} that up applies`, measure: LAST_APPLIED_MEASURE,
        bytes: lastAppliedBytes(helmChart), limit: ANNOTATIONS_LIMIT, perUsers: goJsonBytes(helmChart.spec?.valuesContent ?? ''),
      },
      // k3s's helm controller creates it with helm, which adds no annotation: only its data counts.
      {
        object: `the ${configMap} that k3s's helm controller creates`, measure: 'in its data', bytes: Buffer.byteLength(authorization) + CHART_CONF_ALLOWANCE,
        limit: CONFIG_MAP_LIMIT, perUsers: Buffer.byteLength(authorization),
      },
    ];
  }
  // JSON-escaping nats.conf's text is what the annotation holds of it.
  const escaped = goJsonBytes(authorization) - 3;
  return [{
    object: `the ${configMap} that up applies`, measure: LAST_APPLIED_MEASURE, bytes: escaped + CHART_ANNOTATION_ALLOWANCE, limit: ANNOTATIONS_LIMIT, perUsers: escaped,
  }];
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Refuses a configuration whose users make an object larger than the API server accepts, with
 * how many such users would fit; the caller runs it before anything is written.
 */
export function checkFleetSize(nats: NatsMutualTls): void {
  const users = nats.helmValues.config.merge.authorization.users.length;
  const over = fleetObjectSizes(nats).find(({ bytes, limit }) => bytes > limit);
  if (!over) return;
  const fits = Math.floor((users * (over.limit - (over.bytes - over.perUsers))) / over.perUsers);
  throw new UserError(
    `pki.identities: ${count(users)} authorized identities make ${over.object} ${kib(over.bytes)} ${over.measure}, ` +
    `above the API server's limit of ${kib(over.limit)}: authorize at most about ${count(fits)} with rules like these ` +
    '(allow lists alone are the shortest), or split the fleet over several instances',
  );
}
