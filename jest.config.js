/** @type {import('jest').Config} */
module.exports = {
  // jest's node environment, which also stops the nats-server and nats CLI processes a failed test left running.
  testEnvironment: '<rootDir>/test/support/node-environment.ts',
  roots: ['<rootDir>/test'],
  setupFiles: ['<rootDir>/test/support/tools-on-path.ts'],
  testMatch: ['**/*.test.ts'],
  // Against real Kubernetes components, run by jest.cluster.config.js (npm run test:cluster).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  // Type-checking is `tsc --noEmit` in `npm test`; with isolatedModules ts-jest only strips types, which keeps it fast.
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
};
