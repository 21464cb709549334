import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Kubernetes API server reduced to what the real kubectl needs for `apply --prune`, so the tests
 * can run kubectl itself (not a stand-in) against objects they control: legacy discovery of the
 * built-in kinds this project creates and k3s's HelmChart, an empty OpenAPI v2 document (kubectl's client-side
 * validation then has no schema to apply), and get, list with `k=v` label selectors, create,
 * delete and JSON merge patch. Objects are kept in memory as kubectl sent them, with a uid.
 * `forbidLists` names resources whose list is refused (403), as RBAC refuses a user without `list`.
 */

export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface FakeApiServer {
  readonly url: string;
  /** Every object, as "apiVersion Kind namespace/name" (cluster-scoped: "/name"), sorted. */
  objects(): string[];
  /** Puts an object in place as another client would have created it. */
  seed(object: StoredObject): void;
  close(): Promise<void>;
}

/** group/version → [resource, Kind, namespaced] */
const RESOURCES: Record<string, readonly (readonly [string, string, boolean])[]> = {
  v1: [
    ['namespaces', 'Namespace', false], ['configmaps', 'ConfigMap', true], ['secrets', 'Secret', true],
    ['services', 'Service', true], ['serviceaccounts', 'ServiceAccount', true],
  ],
  'apps/v1': [['deployments', 'Deployment', true], ['statefulsets', 'StatefulSet', true]],
  'networking.k8s.io/v1': [['ingresses', 'Ingress', true]],
  'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true]],
  // k3s's helm controller's type; the controller itself is not here.
  'helm.cattle.io/v1': [['helmcharts', 'HelmChart', true]],
};

/**
 * An OpenAPI v2 document in protobuf, as kubectl asks for it: field 1 (swagger) "2.0", field 2
 * (info) holding title "fake" and version "v1", nothing else.
 */
const OPENAPI_V2 = Buffer.from('0a03322e30120a0a0466616b6512027631', 'hex');

const send = (res: ServerResponse, code: number, body: unknown): void => {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
};
const status = (res: ServerResponse, code: number, reason: string, message: string): void =>
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code });

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const merged: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = mergePatch(merged[key], value);
  }
  return merged;
}

const matches = (object: StoredObject, selector: string | null): boolean =>
  !selector || selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return object.metadata.labels?.[key] === value;
  });

export interface FakeApiServerOptions {
  /** Resources (e.g. `secrets`) whose list answers 403 Forbidden; getting one object still works. */
  readonly forbidLists?: readonly string[];
}

export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const store = new Map<string, StoredObject>();
  const keyOf = (groupVersion: string, resource: string, namespace: string, name: string) => `${groupVersion} ${resource} ${namespace}/${name}`;
  const resourceOf = (apiVersion: string, kind: string) => RESOURCES[apiVersion]?.find(([, k]) => k === kind);

  function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    if (path === '/version') return send(res, 200, { major: '1', minor: '36', gitVersion: 'v1.36.3+k3s1' });
    if (path === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/apis') {
      const groups = Object.keys(RESOURCES).filter((gv) => gv.includes('/')).map((groupVersion) => {
        const [name, version] = groupVersion.split('/');
        return { name, versions: [{ groupVersion, version }], preferredVersion: { groupVersion, version } };
      });
      return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups });
    }
    if (path === '/openapi/v2') {
      res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' });
      return void res.end(OPENAPI_V2);
    }
    const route = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/(.*))?$/.exec(path);
    const groupVersion = route?.[1] ?? route?.[2];
    if (!route || !groupVersion || !RESOURCES[groupVersion]) return status(res, 404, 'NotFound', `no route ${path}`);
    const parts = (route[3] ?? '').split('/').filter(Boolean);
    if (parts.length === 0) {
      const resources = RESOURCES[groupVersion].map(([name, kind, namespaced]) => ({
        name, singularName: kind.toLowerCase(), namespaced, kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'],
      }));
      return send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources });
    }
    const [namespace, resource, name] = parts[0] === 'namespaces' && parts.length >= 3 ? parts.slice(1) : ['', parts[0], parts[1]];
    const definition = RESOURCES[groupVersion].find(([r]) => r === resource);
    if (!definition) return status(res, 404, 'NotFound', `the server could not find the requested resource ${resource}`);
    const key = (objectName: string) => keyOf(groupVersion, resource, namespace, objectName);
    const stored = name === undefined ? undefined : store.get(key(name));
    const notFound = () => status(res, 404, 'NotFound', `${resource} "${name}" not found`);
    switch (req.method) {
      case 'GET': {
        if (name !== undefined) return stored ? send(res, 200, stored) : notFound();
        if (options.forbidLists?.includes(resource)) {
          return status(res, 403, 'Forbidden', `${resource} is forbidden: User "fake" cannot list resource "${resource}" in API group "${groupVersion.split('/').length === 2 ? groupVersion.split('/')[0] : ''}"`);
        }
        const prefix = `${groupVersion} ${resource} ${namespace}/`;
        const items = [...store.entries()].filter(([k, o]) => k.startsWith(prefix) && matches(o, url.searchParams.get('labelSelector'))).map(([, o]) => o);
        return send(res, 200, { kind: `${definition[1]}List`, apiVersion: groupVersion, metadata: { resourceVersion: '1' }, items });
      }
      case 'POST': {
        const object = JSON.parse(body) as StoredObject;
        if (store.has(key(object.metadata.name))) return status(res, 409, 'AlreadyExists', `${resource} "${object.metadata.name}" already exists`);
        const created = { ...object, metadata: { ...object.metadata, uid: randomUUID(), resourceVersion: '1' } };
        if (url.searchParams.get('dryRun') !== 'All') store.set(key(object.metadata.name), created);
        return send(res, 201, created);
      }
      case 'PATCH': {
        if (!stored || name === undefined) return notFound();
        const patched = mergePatch(stored, JSON.parse(body)) as StoredObject;
        if (url.searchParams.get('dryRun') !== 'All') store.set(key(name), patched);
        return send(res, 200, patched);
      }
      case 'DELETE': {
        if (!stored || name === undefined) return notFound();
        store.delete(key(name));
        return send(res, 200, stored);
      }
      default:
        return status(res, 405, 'MethodNotAllowed', `${req.method ?? ''} is not allowed`);
    }
  }

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; });
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    objects: () => [...store.values()]
      .map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`)
      .sort(),
    seed(object) {
      const [resource] = resourceOf(object.apiVersion, object.kind) ?? [];
      if (!resource) throw new Error(`the fake API server does not serve ${object.apiVersion} ${object.kind}`);
      store.set(keyOf(object.apiVersion, resource, object.metadata.namespace ?? '', object.metadata.name), {
        ...object, metadata: { ...object.metadata, uid: randomUUID() },
      });
    },
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
