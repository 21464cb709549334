import { InvalidPropsError } from '../util/errors';

/** One rule on one prop: its name, its value (as given or defaulted), whether it holds, and the rule in words. */
export type PropRule = readonly [prop: string, value: unknown, holds: boolean, rule: string];

/** Throws an InvalidPropsError listing every rule that does not hold, so one run shows every mistake. */
export function checkProps(construct: string, rules: readonly PropRule[]): void {
  const broken = rules.filter(([, , holds]) => !holds).map(([prop, value, , rule]) => `${prop} ${JSON.stringify(value)} ${rule}`);
  if (broken.length > 0) throw new InvalidPropsError(`${construct}: ${broken.join('; ')}`);
}
