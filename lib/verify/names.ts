/** A long list of names, shortened for one line: a fleet has a thousand of them. */

/** How many names a line shows before it counts the rest. */
export const NAMES_SHOWN = 10;

/** `a, b, c` — or `a, b, …, j and 990 more` past `shown` names. */
export function listNames(names: readonly string[], shown = NAMES_SHOWN): string {
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')} and ${(names.length - shown).toLocaleString('en-US')} more`;
}
