import type { NatsPermissions, NatsSubjectRules } from './values';

/**
 * NATS subjects, the wildcards of permission rules and what a user's permissions mean for a
 * concrete subject, as nats-server reads them (no client library needed): tokens separated
 * by `.`, `*` matching exactly one token and `>` one or more, each only as a whole token, `>` only last.
 */

/** Why `subject` is not a valid subject pattern, or undefined when it is. */
export function subjectProblem(subject: string): string | undefined {
  if (subject === '') return 'is empty';
  if (/\s/.test(subject)) return 'contains white space';
  const tokens = subject.split('.');
  if (tokens.some((token) => token === '')) return "has an empty token (a leading, trailing or doubled '.')";
  const partial = tokens.find((token) => token.length > 1 && /[*>]/.test(token));
  if (partial !== undefined) return `uses a wildcard inside the token '${partial}': '*' and '>' stand only as whole tokens`;
  if (tokens.slice(0, -1).includes('>')) return "uses '>' before the last token: '>' matches the rest of a subject, so it comes last";
  return undefined;
}

/** Whether the concrete `subject` matches `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const wanted = pattern.split('.');
  const tokens = subject.split('.');
  for (let i = 0; i < wanted.length; i++) {
    if (wanted[i] === '>') return tokens.length > i;
    if (i >= tokens.length || (wanted[i] !== '*' && wanted[i] !== tokens[i])) return false;
  }
  return tokens.length === wanted.length;
}

/** A concrete subject the pattern matches, with each wildcard filled by `fill` (a token). */
export const concreteSubject = (pattern: string, fill = 'verify'): string =>
  pattern.split('.').map((token) => (token === '*' || token === '>' ? fill : token)).join('.');

export type Operation = 'publish' | 'subscribe';
export type Access = 'allowed' | 'denied';

/** nats-server's rule: a subject must match an allow (when there is an allow list) and no deny. */
export function expectedAccess(rules: NatsSubjectRules | undefined, subject: string): Access {
  if (!rules) return 'allowed';
  const allowed = rules.allow === undefined || rules.allow.some((pattern) => subjectMatches(pattern, subject));
  const denied = (rules.deny ?? []).some((pattern) => subjectMatches(pattern, subject));
  return allowed && !denied ? 'allowed' : 'denied';
}

/** One rule turned into something to try: a concrete subject for it, and what the permissions say must happen. */
export interface PermissionCase {
  readonly operation: Operation;
  /** Which list of the operation's rules it comes from. */
  readonly kind: 'allow' | 'deny';
  /** The rule as the configuration writes it, e.g. `publish deny sensors.admin.>`. */
  readonly rule: string;
  readonly subject: string;
  readonly expected: Access;
}

/** A case per allow and deny rule of both operations, wildcards filled in; the expectation weighs every rule. */
export function permissionCases(permissions: NatsPermissions): PermissionCase[] {
  const cases: PermissionCase[] = [];
  for (const operation of ['publish', 'subscribe'] as const) {
    const rules = permissions[operation];
    for (const kind of ['allow', 'deny'] as const) {
      for (const pattern of rules?.[kind] ?? []) {
        const subject = concreteSubject(pattern);
        cases.push({ operation, kind, rule: `${operation} ${kind} ${pattern}`, subject, expected: expectedAccess(rules, subject) });
      }
    }
  }
  return cases;
}
