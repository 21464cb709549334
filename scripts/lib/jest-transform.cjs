// jest's transform for .ts files (jest.config.js): the compiler ts-hook.cjs uses. tsc type-checks
// in `npm test`; here each file is only stripped of its types, which spares every jest worker
// loading TypeScript.
'use strict';
const { createHash } = require('node:crypto');
const { COMPILER, compile } = require('./ts-compile.cjs');

/** @type {import('@jest/transform').SyncTransformer} */
module.exports = {
  process: (source, filename) => ({ code: compile(source, filename) }),
  getCacheKey: (source, filename) => createHash('sha256').update(COMPILER).update('\0').update(filename).update('\0').update(source).digest('hex'),
};
