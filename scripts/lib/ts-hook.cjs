// Lets CommonJS Node run the project's TypeScript (Node 20 cannot). Each .ts file is compiled by
// sucrase — types stripped, imports turned into require, line numbers kept — once, and cached by
// its content under node_modules/.cache: later runs read the cache and never load sucrase, which
// is most of the start-up cost of `npm run synth`. Type checking is tsc's job (`npm test`).
'use strict';
const { createHash, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const CACHE = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'k3s-nats-tls-ts');
/** Part of every cache key: a new sucrase or new options compile everything again. */
const COMPILER = `sucrase ${require('sucrase/package.json').version} imports+typescript`;

/** @type {typeof import('sucrase') | undefined} */
let sucrase;

/** @param {string} source @param {string} filename */
function compile(source, filename) {
  sucrase ??= require('sucrase');
  const { code, sourceMap } = sucrase.transform(source, {
    transforms: ['imports', 'typescript'], filePath: filename, sourceMapOptions: { compiledFilename: filename },
  });
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(sourceMap)).toString('base64')}`;
}

/** A cache that cannot be written (read-only node_modules) only costs speed. @param {string} file @param {string} code */
function store(file, code) {
  try {
    fs.mkdirSync(CACHE, { recursive: true, mode: 0o755 });
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    fs.writeFileSync(temporary, code, { mode: 0o644 });
    fs.renameSync(temporary, file);
  } catch {
    // Not cached: the next run compiles again.
  }
}

/** @typedef {(module: { _compile(code: string, filename: string): void }, filename: string) => void} Loader */
/** Node's loader table (used by every require hook, e.g. pirates); @types/node does not declare it. */
const extensions = /** @type {{ _extensions: Record<string, Loader> }} */ (/** @type {unknown} */ (Module))._extensions;

/** @type {Loader} */
function loadTypeScript(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const file = path.join(CACHE, `${createHash('sha256').update(COMPILER).update('\0').update(filename).update('\0').update(source).digest('hex')}.js`);
  let code;
  try {
    code = fs.readFileSync(file, 'utf8');
  } catch {
    code = compile(source, filename);
    store(file, code);
  }
  module._compile(code, filename);
}

extensions['.ts'] = loadTypeScript;
