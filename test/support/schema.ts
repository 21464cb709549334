import { Deployment } from 'kubernetes-models/apps/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { Namespace, Secret, Service } from 'kubernetes-models/v1';
import { HELMCHART_CRD } from './crd-schema';
import type { ApiObject } from './fixtures';

/** OpenAPI models of every kind this project synthesizes; an unknown kind fails loudly rather than passing unchecked. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Namespace': Namespace,
  'v1 Secret': Secret,
  'v1 Service': Service,
  'networking.k8s.io/v1 Ingress': Ingress,
};

/** Custom resources, checked against the schema of their CRD in imports/. */
const CUSTOM: Record<string, { validate(object: unknown): void }> = {
  [`${HELMCHART_CRD.group}/${HELMCHART_CRD.version} ${HELMCHART_CRD.kind}`]: HELMCHART_CRD,
};

/** Throws with the failing field path when `object` does not match the Kubernetes OpenAPI schema (or its CRD's). */
export function validateAgainstSchema(object: ApiObject): void {
  const custom = CUSTOM[`${object.apiVersion} ${object.kind}`];
  if (custom) return custom.validate(object);
  const Model = MODELS[`${object.apiVersion} ${object.kind}`];
  if (!Model) throw new Error(`no schema model registered for ${object.apiVersion} ${object.kind}: add it to test/support/schema.ts`);
  new Model(object).validate();
}
