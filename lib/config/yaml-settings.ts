import type { Document, YAMLError, YAMLWarning } from 'yaml';
import { cacheSettings, cachedSettings } from './yaml-cache';

/**
 * The settings in a configuration file's YAML text, or what is wrong with it, one line per problem.
 * yaml's `parse` would print a tag it does not know as a multi-line process warning and go on, and
 * word a second document in terms of its own API: here both are problems of the file, said plainly.
 */

export type YamlSettings = { readonly settings: unknown } | { readonly problems: string[] };

const where = (issue: YAMLError | YAMLWarning): string => {
  const start = issue.linePos?.[0];
  return start ? `line ${start.line}, column ${start.col}` : 'somewhere';
};

/** yaml's message without the excerpt and position it appends. */
const firstLine = (issue: YAMLError | YAMLWarning): string => issue.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');

function describe(issue: YAMLError | YAMLWarning): string {
  switch (issue.code) {
    case 'MULTIPLE_DOCS':
      return `holds more than one YAML document (the second starts at line ${issue.linePos?.[0].line ?? '?'}): keep one, with no '---' line between settings`;
    case 'TAG_RESOLVE_FAILED':
      return `${where(issue)}: unknown YAML tag ${/!\S*/.exec(issue.message)?.[0] ?? ''}: remove it, the configuration takes plain YAML values`;
    default:
      return `not valid YAML at ${where(issue)}: ${firstLine(issue)}`;
  }
}

export function yamlSettings(text: string): YamlSettings {
  const cached = cachedSettings(text);
  if (cached) return cached;
  // Loaded only when there is a file to read: most runs use the defaults, and synth time matters.
  const { parseDocument } = require('yaml') as typeof import('yaml');
  const document: Document = parseDocument(text);
  const issues = [...document.errors, ...document.warnings];
  if (issues.length > 0) return { problems: issues.map(describe) };
  const settings: unknown = document.toJS();
  cacheSettings(text, settings);
  return { settings };
}
