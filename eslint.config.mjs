// ESLint (flat config) with typescript-eslint's type-aware rules: the driver is async everywhere, so
// a floating promise is a bug that silently skips a step or swallows its failure.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The layers, lowest first: a module imports only from its own layer and the layers below it
 * (README, Layout). The entry points sit on top, and nothing imports them.
 */
export const LAYERS = [
  ['imports', 'lib/util'],
  ['lib/nats'],
  ['lib/constructs'],
  ['charts'],
  ['lib/config'],
  ['lib/pki'],
  ['lib/synth'],
  ['lib/verify'],
  ['lib/deploy'],
  ['lib/driver', 'main.ts'],
  ['scripts', 'test'],
];

const layerZones = LAYERS.slice(0, -1).map((layer, i) => ({
  target: layer.map((path) => `./${path}`),
  from: LAYERS.slice(i + 1).flat().map((path) => `./${path}`),
  message: `${layer.join(', ')} may import only from ${LAYERS.slice(0, i + 1).map((below) => below.join(', ')).join(' ← ')} (the layers in eslint.config.mjs)`,
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'keys/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { project: ['./tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    // The project imports its TypeScript without extensions ('../lib/constructs' is its index.ts).
    // no-cycle follows only the files whose endings import-x/extensions lists.
    settings: {
      'import-x/extensions': ['.ts', '.mjs', '.cjs', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.mjs', '.cjs', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      'import-x/order': ['error', {
        groups: ['builtin', 'external', 'internal', 'parent', 'sibling', 'index'],
        alphabetize: { order: 'asc', caseInsensitive: true },
      }],
      // As in cdk8s-plus (projen's defaults): long messages and expectations may run on.
      'max-len': ['error', { code: 150, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreComments: true, ignoreRegExpLiterals: true }],
      // tsc checks every name in both the TypeScript and the type-checked JavaScript (typescript-eslint's advice).
      'no-undef': 'off',
      // A command's main and a test's body are async by contract, with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Tests build objects from YAML and JSON: `any` there is the data, not a shortcut.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Below the entry points nothing reads the environment: main.ts and each command in lib/driver/ resolve the project and pass it down.
    files: ['lib/**/*.ts', 'charts/**/*.ts', 'imports/**/*.ts'],
    ignores: ['lib/driver/**'],
    rules: {
      'no-restricted-properties': ['error', {
        object: 'process', property: 'env', message: 'only an entry point (main.ts, lib/driver/, scripts/, test/) reads the environment: take it as a parameter',
      }],
    },
  },
  {
    // Tests and the JavaScript driver read parsed YAML, JSON and tool output: `any` is the data there.
    files: ['test/**/*.ts', 'scripts/**/*.mjs'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
