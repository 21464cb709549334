/**
 * The tests against real Kubernetes components (test/cluster/): each file starts a control plane
 * built from test/tools, so they run one file at a time, after the rest of the suite (`npm test`),
 * or alone with `npm run test:cluster`.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = { ...base, roots: ['<rootDir>/test/cluster'], testPathIgnorePatterns: [], maxWorkers: 1, testTimeout: 240000 };
