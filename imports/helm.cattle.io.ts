// The typed construct for imports/helmchart-crd.yaml, in the shape `cdk8s import` generates (an
// ApiObject subclass, camelCase props, toJson_* functions restoring the schema's field names). Written
// by hand because the cdk8s CLI is not among this project's packages; test/helmchart.test.ts checks
// that it covers exactly the CRD's spec fields and that its output passes the CRD's schema.
import { ApiObject, ApiObjectMetadata, GroupVersionKind } from 'cdk8s';
import { Construct } from 'constructs';

/**
 * A Helm chart release that k3s's helm controller installs, upgrades and uninstalls with a Job.
 *
 * @schema HelmChart
 */
export class HelmChart extends ApiObject {
  /** Returns the apiVersion and kind for "HelmChart". */
  public static readonly GVK: GroupVersionKind = {
    apiVersion: 'helm.cattle.io/v1',
    kind: 'HelmChart',
  };

  /**
   * Renders a Kubernetes manifest for "HelmChart".
   *
   * This can be used to inline resource manifests inside other objects (e.g. as templates).
   *
   * @param props initialization props
   */
  public static manifest(props: HelmChartProps = {}): any {
    return {
      ...HelmChart.GVK,
      ...toJson_HelmChartProps(props),
    };
  }

  /**
   * Defines a "HelmChart" API object
   * @param scope the scope in which to define this object
   * @param id a scope-local name for the object
   * @param props initialization props
   */
  public constructor(scope: Construct, id: string, props: HelmChartProps = {}) {
    super(scope, id, {
      ...HelmChart.GVK,
      ...props,
    });
  }

  /** Renders the object to Kubernetes JSON. */
  public toJson(): any {
    const resolved = super.toJson() as HelmChartProps;
    return {
      ...HelmChart.GVK,
      ...toJson_HelmChartProps(resolved),
    };
  }
}

/**
 * A Helm chart release that k3s's helm controller installs, upgrades and uninstalls with a Job.
 *
 * @schema HelmChart
 */
export interface HelmChartProps {
  /** @schema HelmChart#metadata */
  readonly metadata?: ApiObjectMetadata;
  /**
   * How to install and upgrade the release; metadata.name is the release name.
   *
   * @schema HelmChart#spec
   */
  readonly spec?: HelmChartSpec;
}

/** Converts an object of type 'HelmChartProps' to JSON representation. */
export function toJson_HelmChartProps(obj: HelmChartProps | undefined): Record<string, any> | undefined {
  if (obj === undefined) { return undefined; }
  const result = {
    'metadata': obj.metadata,
    'spec': toJson_HelmChartSpec(obj.spec),
  };
  return withoutUndefined(result);
}

/**
 * How to install and upgrade the release; metadata.name is the release name.
 *
 * @schema HelmChartSpec
 */
export interface HelmChartSpec {
  /** Namespace of the release (helm --namespace). @schema HelmChartSpec#targetNamespace */
  readonly targetNamespace?: string;
  /** Create the target namespace if it is missing (helm --create-namespace). @schema HelmChartSpec#createNamespace */
  readonly createNamespace?: boolean;
  /** Chart name in the repository, or an HTTPS URL of a chart archive (.tgz). @schema HelmChartSpec#chart */
  readonly chart?: string;
  /** Chart version, when installing from a repository (helm --version). @schema HelmChartSpec#version */
  readonly version?: string;
  /** Chart repository URL (helm --repo). @schema HelmChartSpec#repo */
  readonly repo?: string;
  /** PEM CA certificates to verify the repository's HTTPS server with (helm --ca-file). @schema HelmChartSpec#repoCA */
  readonly repoCa?: string;
  /** A ConfigMap holding CA certificates to verify the repository with. @schema HelmChartSpec#repoCAConfigMap */
  readonly repoCaConfigMap?: HelmChartSpecLocalObjectReference;
  /** Simple values (helm --set / --set-string); they win over values and valuesContent. @schema HelmChartSpec#set */
  readonly set?: { [key: string]: HelmChartSpecSet };
  /** Values as structured YAML (helm --values); they win over valuesContent. @schema HelmChartSpec#values */
  readonly values?: any;
  /** Values as inline YAML text (helm --values). @schema HelmChartSpec#valuesContent */
  readonly valuesContent?: string;
  /** Secrets (in the HelmChart's namespace) to read values from. @schema HelmChartSpec#valuesSecrets */
  readonly valuesSecrets?: HelmChartSpecValuesSecrets[];
  /** Deprecated; only v3 is supported. @schema HelmChartSpec#helmVersion */
  readonly helmVersion?: string;
  /** The chart is needed to bootstrap the cluster (CNI, cloud controller). @schema HelmChartSpec#bootstrap */
  readonly bootstrap?: boolean;
  /** Let helm adopt existing resources (helm --take-ownership). @schema HelmChartSpec#takeOwnership */
  readonly takeOwnership?: boolean;
  /** Server-side apply (helm --server-side); by default on for an install, auto for an upgrade. @schema HelmChartSpec#serverSide */
  readonly serverSide?: HelmChartSpecServerSide;
  /** Take over fields other managers own when server-side apply conflicts (helm --force-conflicts). @schema HelmChartSpec#forceConflicts */
  readonly forceConflicts?: boolean;
  /** A base64-encoded chart archive; overrides chart and version. @schema HelmChartSpec#chartContent */
  readonly chartContent?: string;
  /** Image of the Job that runs helm. @schema HelmChartSpec#jobImage */
  readonly jobImage?: string;
  /** Retries of the helm Job before it counts as failed. @schema HelmChartSpec#backOffLimit */
  readonly backOffLimit?: number;
  /** Time limit of helm operations, as a duration (helm --timeout). @schema HelmChartSpec#timeout */
  readonly timeout?: string;
  /** On a failed install or upgrade, reinstall cleanly, abort, or retry when the configuration changes. @schema HelmChartSpec#failurePolicy */
  readonly failurePolicy?: HelmChartSpecFailurePolicy;
  /** A kubernetes.io/basic-auth Secret with the repository's credentials. @schema HelmChartSpec#authSecret */
  readonly authSecret?: HelmChartSpecLocalObjectReference;
  /** Pass the credentials to every domain (helm --pass-credentials). @schema HelmChartSpec#authPassCredentials */
  readonly authPassCredentials?: boolean;
  /** Skip the TLS checks of the chart download (helm --insecure-skip-tls-verify). @schema HelmChartSpec#insecureSkipTLSVerify */
  readonly insecureSkipTlsVerify?: boolean;
  /** Download the chart over plain HTTP (helm --plain-http). @schema HelmChartSpec#plainHTTP */
  readonly plainHttp?: boolean;
  /** A kubernetes.io/dockerconfigjson Secret for an OCI registry holding the chart. @schema HelmChartSpec#dockerRegistrySecret */
  readonly dockerRegistrySecret?: HelmChartSpecLocalObjectReference;
  /** PodSecurityContext of the helm Job's pod. @schema HelmChartSpec#podSecurityContext */
  readonly podSecurityContext?: any;
  /** SecurityContext of the helm Job's container. @schema HelmChartSpec#securityContext */
  readonly securityContext?: any;
  /** Where helm stores the release (HELM_DRIVER). @schema HelmChartSpec#driver */
  readonly driver?: HelmChartSpecDriver;
}

/** Converts an object of type 'HelmChartSpec' to JSON representation. */
export function toJson_HelmChartSpec(obj: HelmChartSpec | undefined): Record<string, any> | undefined {
  if (obj === undefined) { return undefined; }
  const result = {
    'targetNamespace': obj.targetNamespace,
    'createNamespace': obj.createNamespace,
    'chart': obj.chart,
    'version': obj.version,
    'repo': obj.repo,
    'repoCA': obj.repoCa,
    'repoCAConfigMap': toJson_HelmChartSpecLocalObjectReference(obj.repoCaConfigMap),
    'set': obj.set === undefined ? undefined : Object.fromEntries(Object.entries(obj.set).map(([key, value]) => [key, value?.value])),
    'values': obj.values as unknown,
    'valuesContent': obj.valuesContent,
    'valuesSecrets': obj.valuesSecrets?.map((y) => toJson_HelmChartSpecValuesSecrets(y)),
    'helmVersion': obj.helmVersion,
    'bootstrap': obj.bootstrap,
    'takeOwnership': obj.takeOwnership,
    'serverSide': obj.serverSide,
    'forceConflicts': obj.forceConflicts,
    'chartContent': obj.chartContent,
    'jobImage': obj.jobImage,
    'backOffLimit': obj.backOffLimit,
    'timeout': obj.timeout,
    'failurePolicy': obj.failurePolicy,
    'authSecret': toJson_HelmChartSpecLocalObjectReference(obj.authSecret),
    'authPassCredentials': obj.authPassCredentials,
    'insecureSkipTLSVerify': obj.insecureSkipTlsVerify,
    'plainHTTP': obj.plainHttp,
    'dockerRegistrySecret': toJson_HelmChartSpecLocalObjectReference(obj.dockerRegistrySecret),
    'podSecurityContext': obj.podSecurityContext as unknown,
    'securityContext': obj.securityContext as unknown,
    'driver': obj.driver,
  };
  return withoutUndefined(result);
}

/** A reference to an object in the HelmChart's namespace. */
export interface HelmChartSpecLocalObjectReference {
  readonly name?: string;
}

/** Converts an object of type 'HelmChartSpecLocalObjectReference' to JSON representation. */
export function toJson_HelmChartSpecLocalObjectReference(obj: HelmChartSpecLocalObjectReference | undefined): Record<string, any> | undefined {
  if (obj === undefined) { return undefined; }
  return withoutUndefined({ 'name': obj.name });
}

/** A value of `set`: a number or a string, as the schema's int-or-string. */
export class HelmChartSpecSet {
  public static fromNumber(value: number): HelmChartSpecSet {
    return new HelmChartSpecSet(value);
  }

  public static fromString(value: string): HelmChartSpecSet {
    return new HelmChartSpecSet(value);
  }

  private constructor(public readonly value: number | string) {
  }
}

/** A Secret key to read values from. @schema HelmChartSpecValuesSecrets */
export interface HelmChartSpecValuesSecrets {
  readonly name?: string;
  readonly keys?: string[];
  readonly ignoreUpdates?: boolean;
}

/** Converts an object of type 'HelmChartSpecValuesSecrets' to JSON representation. */
export function toJson_HelmChartSpecValuesSecrets(obj: HelmChartSpecValuesSecrets | undefined): Record<string, any> | undefined {
  if (obj === undefined) { return undefined; }
  return withoutUndefined({ 'name': obj.name, 'keys': obj.keys?.map((y) => y), 'ignoreUpdates': obj.ignoreUpdates });
}

/** @schema HelmChartSpecFailurePolicy */
export enum HelmChartSpecFailurePolicy {
  ABORT = 'abort',
  REINSTALL = 'reinstall',
  RETRY = 'retry',
}

/** @schema HelmChartSpecServerSide */
export enum HelmChartSpecServerSide {
  TRUE = 'true',
  FALSE = 'false',
  AUTO = 'auto',
}

/** @schema HelmChartSpecDriver */
export enum HelmChartSpecDriver {
  SECRET = 'secret',
  CONFIGMAP = 'configmap',
}

function withoutUndefined(result: Record<string, unknown>): Record<string, any> {
  return Object.fromEntries(Object.entries(result).filter(([, value]) => value !== undefined));
}
