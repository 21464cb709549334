/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment, which also stops the nats-server and nats CLI processes a failed test left running.
  testEnvironment: '<rootDir>/test/support/node-environment.ts',
  roots: ['<rootDir>/test'],
  setupFiles: ['<rootDir>/test/support/tools-on-path.ts'],
  // One folder per run for what the test files share, such as the default PKI (test/support/fixture-pki.ts).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testMatch: ['**/*.test.ts'],
  // Against real Kubernetes components, run by jest.cluster.config.js (npm run test:cluster).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  // Type-checking is `tsc --noEmit` in `npm test`: jest only strips types, with the compiler the scripts run under.
  transform: { '^.+\\.ts$': '<rootDir>/scripts/lib/jest-transform.cjs' },
  testTimeout: 30000,
  // One worker per core. jest's default (cores - 1) is a single worker on a 2-core machine, which runs
  // every file in turn, the CPU idle while a file waits on the nats-server or script it started.
  maxWorkers: '100%',
};
