const fs = require('node:fs');
const path = require('node:path');

/**
 * Installed packages that ship only ES modules (no `require` export) (Observable Plot, d3, linkedom's parser): Node
 * loads them with require(esm), Jest's CommonJS runtime does not (before Node 24.9), so Jest
 * compiles them with esbuild. Found from each package.json, so a new ESM dependency needs no edit.
 */
function esModulePackages(root = path.join(__dirname, 'node_modules')) {
  const names = [];
  for (const entry of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const dirs = entry.startsWith('@')
      ? fs.readdirSync(path.join(root, entry)).map((n) => `${entry}/${n}`)
      : [entry];
    for (const name of dirs) {
      try {
        const manifest = JSON.parse(fs.readFileSync(path.join(root, name, 'package.json'), 'utf8'));
        const requirable = JSON.stringify(manifest.exports ?? {}).includes('"require"');
        if (manifest.type === 'module' && !requirable) names.push(name.replace(/[.+]/g, '\\$&'));
      } catch {
        // not a package (e.g. .bin)
      }
    }
  }
  return names;
}

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    '^.+\\.m?js$': '<rootDir>/test/esm-to-cjs-transform.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModulePackages().join('|')})/)`],
  // TensorFlow.js training and end-to-end runs are slow on 2 shared cores; timeouts are generous on
  // purpose: tests assert behaviour, benchmarks (npm run bench) measure speed.
  testTimeout: 120000,
  maxWorkers: 2,
};
