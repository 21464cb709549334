// How the project's TypeScript becomes CommonJS JavaScript, for the two places that run it: the
// require hook (ts-hook.cjs: synth and the scripts) and jest (jest-transform.cjs). One compiler and
// one set of options, so the suite runs lib/ exactly as the product runs it.
'use strict';

/** Part of every cache key: a new sucrase or new options compile everything again. */
const COMPILER = `sucrase ${require('sucrase/package.json').version} imports+typescript`;

/** Loaded on the first compile only: a run served from a cache never pays for it. */
/** @type {typeof import('sucrase') | undefined} */
let sucrase;

/**
 * Types stripped, imports turned into require, line numbers kept; an inline source map names `filename`.
 * @param {string} source @param {string} filename
 */
function compile(source, filename) {
  sucrase ??= require('sucrase');
  const { code, sourceMap } = sucrase.transform(source, {
    transforms: ['imports', 'typescript'], filePath: filename, sourceMapOptions: { compiledFilename: filename },
  });
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(sourceMap)).toString('base64')}`;
}

module.exports = { COMPILER, compile };
