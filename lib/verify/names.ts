/** How a fleet's counts and lists of names are written on one line: a fleet has a thousand identities. */

/** How many names a line shows before it counts the rest. */
export const NAMES_SHOWN = 10;

/** `1,000`: thousands separated, as the summaries write every count. */
export const count = (n: number): string => n.toLocaleString('en-US');

/** `a, b, c` — or `a, b, …, j and 990 more` past `shown` names. */
export function listNames(names: readonly string[], shown = NAMES_SHOWN): string {
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${count(names.length - shown)} more`;
}
