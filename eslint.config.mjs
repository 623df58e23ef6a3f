// Type-checked lint, run by `npm test`. Above all: no promise without an owner. A promise is
// awaited, returned, or handed to something that catches (a call's `run`); `void` is not an
// owner, so a `void` needs a disable comment that says why the promise cannot reject.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const importsFrom = (files, forbidden) => ({
  files: [files],
  rules: { 'no-restricted-imports': ['error', { patterns: [{ group: forbidden, message: 'imports run one way: app → gateway/provisioning → core; tests are nobody\'s dependency' }] }] },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.stryker-tmp*/', 'reports/', 'eslint.config.mjs', 'jest.config.js', 'jest.mutation.config.js', 'bin/', 'tests/support/summary-reporter.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false, checkThenables: true }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/promise-function-async': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // The Store interface is promise-based (a PostgreSQL store must fit it); the SQLite store
      // is synchronous inside, and `async` without `await` is how it keeps the interface.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // Imports run one way: app/ composes gateway/ and provisioning/, which share core/; bench/ and
  // tools/ may use all of those but never the tests.
  importsFrom('core/**/*.ts', ['**/gateway/**', '**/provisioning/**', '**/app/**', '**/tests/**']),
  importsFrom('{gateway,provisioning}/**/*.ts', ['**/app/**', '**/tests/**']),
  importsFrom('{bench,tools}/**/*.ts', ['**/tests/**']),
  {
    // Tests read JSON answers, whose shape is what they assert.
    files: ['tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
