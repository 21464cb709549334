import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

/**
 * Validates custom resources against the openAPIV3Schema of a CRD file, as the API server would,
 * with one deliberate difference: a field the schema does not declare is an error here. The API
 * server prunes such a field silently, so for us it is a typo that would lose a setting.
 */

type Schema = Record<string, any>;

/** The CRD's schema with `additionalProperties: false` wherever the API server would prune. */
function pruningAsErrors(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  if (copy.properties) {
    const properties = Object.entries(copy.properties as Record<string, Schema>);
    copy.properties = Object.fromEntries(properties.map(([key, value]) => [key, pruningAsErrors(value)]));
    if (!copy['x-kubernetes-preserve-unknown-fields']) copy.additionalProperties = false;
  }
  if (copy.items) copy.items = pruningAsErrors(copy.items as Schema);
  if (copy.additionalProperties && typeof copy.additionalProperties === 'object') {
    copy.additionalProperties = pruningAsErrors(copy.additionalProperties as Schema);
  }
  return copy;
}

export interface Crd {
  readonly group: string;
  readonly kind: string;
  readonly version: string;
  readonly scope: string;
  /** The schema as the file declares it. */
  readonly schema: Schema;
  /** Throws naming each failing field when `object` does not match the schema. */
  validate(object: unknown): void;
}

export function loadCrd(file: string): Crd {
  const crd = parse(readFileSync(file, 'utf8'));
  const [version] = crd.spec.versions;
  const ajv = new Ajv({ allErrors: true, strict: true });
  ajv.addKeyword('x-kubernetes-preserve-unknown-fields');
  ajv.addKeyword('x-kubernetes-int-or-string');
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  const check: ValidateFunction = ajv.compile(pruningAsErrors(version.schema.openAPIV3Schema));
  return {
    group: crd.spec.group,
    kind: crd.spec.names.kind,
    version: version.name,
    scope: crd.spec.scope,
    schema: version.schema.openAPIV3Schema,
    validate(object) {
      if (check(object)) return;
      const problems = (check.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}${
        error.params && 'additionalProperty' in error.params ? ` '${String(error.params.additionalProperty)}'` : ''}`);
      throw new Error(`not a valid ${crd.spec.names.kind}: ${problems.join('; ')}`);
    },
  };
}

/** The HelmChart CRD of k3s's helm controller, as imports/ declares it. */
export const HELMCHART_CRD = loadCrd(join(__dirname, '..', '..', 'imports', 'helmchart-crd.yaml'));
