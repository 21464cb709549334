/** `a, b, c, d, e and 995 more`: a list of names that stays one readable line however long a fleet makes it. */
export function listed(items: readonly string[], shown = 5): string {
  // Naming the one left over costs no more than "and 1 more".
  if (items.length <= shown + 1) return items.join(', ');
  return `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}

/** Up to this many things (certificates, contexts) get a line each; more (a fleet) get one summary line. */
export const LINE_EACH_UP_TO = 10;
