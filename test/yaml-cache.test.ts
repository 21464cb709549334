import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { CACHED_FROM_LENGTH, entryOf } from '../lib/config/yaml-cache';
import { yamlSettings } from '../lib/config/yaml-settings';
import { fleetIdentities } from './support/fixtures';

// yaml-settings.ts reads parseDocument off the module when it parses, so a spy sees every parse.
const yaml = require('yaml') as typeof import('yaml');

/** The settings of `text` and how many times yaml parsed it to get them. */
function parsed(text: string): { settings: unknown; parses: number } {
  const spy = jest.spyOn(yaml, 'parseDocument');
  try {
    const result = yamlSettings(text);
    if (!('settings' in result)) throw new Error(result.problems.join('\n'));
    return { settings: result.settings, parses: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

describe('a large configuration is parsed once per text (node_modules/.cache/k3s-nats-tls-config)', () => {
  // A fleet's configuration, unique to this run so no earlier run's entry answers.
  const settings = { instance: `cache-${process.pid}-${Date.now()}`, pki: { keyType: 'ecdsa', identities: fleetIdentities(300) } };
  const text = stringify(settings);
  afterAll(() => rmSync(entryOf(text), { force: true }));

  test('the second time its settings come from the entry, equal to what yaml parsed', () => {
    expect(text.length).toBeGreaterThan(CACHED_FROM_LENGTH);
    expect(parsed(text)).toEqual({ settings, parses: 1 });
    expect(existsSync(entryOf(text))).toBe(true);
    expect(parsed(text)).toEqual({ settings, parses: 0 });
    // AND one character more is another text, parsed again
    expect(parsed(`${text}\n`)).toEqual({ settings, parses: 1 });
    rmSync(entryOf(`${text}\n`), { force: true });
  });

  test('a damaged entry is parsed again, never used, and written anew', () => {
    parsed(text);
    const entry = readFileSync(entryOf(text));
    entry[entry.length - 5] ^= 0x01;
    writeFileSync(entryOf(text), entry);
    expect(parsed(text)).toEqual({ settings, parses: 1 });
    expect(parsed(text)).toEqual({ settings, parses: 0 });
    writeFileSync(entryOf(text), 'short');
    expect(parsed(text)).toEqual({ settings, parses: 1 });
  });

  test('a short text and one with problems get no entry', () => {
    const short = stringify({ instance: `short-${process.pid}` });
    expect(parsed(short).parses).toBe(1);
    expect(existsSync(entryOf(short))).toBe(false);
    const broken = `${text}\n  - : [\n`;
    expect(yamlSettings(broken)).toHaveProperty('problems');
    expect(existsSync(entryOf(broken))).toBe(false);
  });
});
