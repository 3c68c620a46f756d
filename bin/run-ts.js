#!/usr/bin/env node
'use strict';
// Runs one TypeScript file with tsx registered: `node bin/run-ts.js file.ts [args...]`.
// Used by `npm run bench` and by the embedded job runner to start a hospital job as its own process.
const path = require('node:path');
require('tsx/cjs/api').register();
const file = process.argv[2];
if (!file) {
  console.error('usage: node bin/run-ts.js FILE.ts [args...]');
  process.exit(2);
}
process.argv.splice(1, 1);
require(path.resolve(file));
