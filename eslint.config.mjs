import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.himas/**', 'coverage/**', '.stryker-tmp/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      // The core is pure (ARCHITECTURE.md section 3): no I/O, no cloud SDKs, no ambient randomness.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '**/ports/**', '**/cli/**', '**/local/**'],
              message: 'src/core must not import adapters, ports or the CLI.',
            },
            {
              group: ['@google-cloud/*', '@duckdb/*', 'node:fs', 'fs', 'node:child_process'],
              message: 'src/core does no I/O.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Take a Random as a parameter.' },
      ],
    },
  },
  {
    // The console's browser script (src/ui/client): the browser's globals and Plot's UMD bundle.
    files: ['src/ui/client/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', fetch: 'readonly', setTimeout: 'readonly', Plot: 'readonly' },
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
