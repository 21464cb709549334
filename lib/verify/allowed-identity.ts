import type { Identity } from '../config/config';
import { expectedAccess } from '../nats/subjects';

/**
 * The first authorized identity whose permissions (if any) allow every subject a check publishes
 * to and subscribes to; undefined when none does — the check is then not applicable rather than
 * failed: an identity kept away from those subjects is the configuration's choice, not a broken cluster.
 */
export function allowedIdentity(identities: readonly Identity[], publishes: readonly string[], subscribes: readonly string[]): Identity | undefined {
  return identities.find(({ authorized, permissions }) => authorized && (!permissions || (
    publishes.every((subject) => expectedAccess(permissions.publish, subject) === 'allowed')
    && subscribes.every((subject) => expectedAccess(permissions.subscribe, subject) === 'allowed'))));
}
