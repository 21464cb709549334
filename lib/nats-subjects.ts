/**
 * NATS subjects and the wildcards of permission rules, as nats-server reads them: tokens separated
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
