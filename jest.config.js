/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type-checking is `tsc --noEmit` in `npm test`; with isolatedModules ts-jest only strips types, which keeps it fast.
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
};
