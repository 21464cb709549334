// Lets CommonJS Node run the project's TypeScript (Node 20 cannot). Each .ts file is compiled by
// ts-compile.cjs (sucrase: types stripped, imports turned into require, line numbers kept) once,
// and cached by its content under node_modules/.cache: later runs read the cache and never load
// sucrase, which is most of the start-up cost of `npm run synth`. Type checking is tsc's job (`npm test`).
'use strict';
const { createHash, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { COMPILER, compile } = require('./ts-compile.cjs');

const CACHE = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'k3s-nats-tls-ts');
/**
 * An entry is this header, the sha256 of the compiled text, a newline, then the text: an entry cut
 * short, emptied or edited no longer matches its hash and is compiled again, never run.
 */
const HEADER = '// k3s-nats-tls-ts sha256:';
/**
 * Every checkout path and every version of a file is an entry of its own (the source map names the
 * file), so the scratch copies tests and benchmarks make would fill the disk: the process that
 * stores an entry keeps the most recently used ones, and a run touches what it reads once a day.
 */
const MAX_ENTRIES = 1000;
const TOUCH_AFTER_MS = 24 * 3600 * 1000;
/** A temporary file this old belongs to no running writer: a killed run left it. */
const STALE_TEMPORARY_MS = 600 * 1000;

let pruning = false;

const sha256 = (/** @type {string} */ text) => createHash('sha256').update(text).digest('hex');

/** The compiled text of a whole, unaltered entry, or undefined (no entry, or a damaged one). @param {string} file */
function lookUp(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const entry = fs.readFileSync(fd, 'utf8');
    const newline = entry.indexOf('\n');
    if (!entry.startsWith(HEADER) || newline === -1) return undefined;
    const code = entry.slice(newline + 1);
    if (entry.slice(HEADER.length, newline) !== sha256(code)) return undefined;
    const now = Date.now();
    if (now - fs.fstatSync(fd).mtimeMs > TOUCH_AFTER_MS) fs.futimesSync(fd, now / 1000, now / 1000);
    return code;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Removes the least recently used entries beyond MAX_ENTRIES and what killed runs left. */
function prune() {
  const now = Date.now();
  const entries = [];
  for (const name of fs.readdirSync(CACHE)) {
    const file = path.join(CACHE, name);
    try {
      const { mtimeMs } = fs.statSync(file);
      if (name.endsWith('.tmp')) {
        if (now - mtimeMs > STALE_TEMPORARY_MS) fs.rmSync(file, { force: true });
      } else {
        entries.push({ file, mtimeMs });
      }
    } catch {
      // Another run removed it meanwhile.
    }
  }
  entries.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const { file } of entries.slice(MAX_ENTRIES)) fs.rmSync(file, { force: true });
}

/**
 * Writes the entry atomically (a whole temporary file, flushed, renamed over the name); a run that
 * stores prunes as it exits. A cache that cannot be written (read-only node_modules) only costs speed.
 * @param {string} file @param {string} code
 */
function store(file, code) {
  try {
    fs.mkdirSync(CACHE, { recursive: true, mode: 0o755 });
    const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = fs.openSync(temporary, 'wx', 0o644);
    try {
      fs.writeSync(fd, `${HEADER}${sha256(code)}\n${code}`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, file);
    if (!pruning) {
      pruning = true;
      // Once, when this run has stored all it compiles.
      process.once('exit', () => {
        try {
          prune();
        } catch {
          // The next run that stores an entry prunes.
        }
      });
    }
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
  let code = lookUp(file);
  if (code === undefined) {
    code = compile(source, filename);
    store(file, code);
  }
  module._compile(code, filename);
}

extensions['.ts'] = loadTypeScript;

/**
 * Node 22.1+ also keeps V8's compiled code of every CommonJS module loaded from here on (cdk8s, the
 * compiled TypeScript) beside our cache, so a later run skips parsing them; Node 20 has no such cache.
 * @types/node 20 does not declare it.
 */
const { enableCompileCache } = /** @type {{ enableCompileCache?: (directory: string) => unknown }} */ (/** @type {unknown} */ (Module));
enableCompileCache?.(path.join(CACHE, '..', 'k3s-nats-tls-v8'));
