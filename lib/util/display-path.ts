import { isAbsolute, relative } from 'node:path';

/** A path as a person would type it from `from`: relative when inside it (`keys/ca.crt`), else absolute. */
export function displayPath(path: string, from: string = process.cwd()): string {
  const inside = relative(from, path);
  return inside === '' ? '.' : inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}
