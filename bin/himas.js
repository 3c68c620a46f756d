#!/usr/bin/env node
'use strict';
// The himas command. It runs the TypeScript sources directly (through tsx), so `npm ci && npx himas`
// works on a fresh clone with no build step and never runs stale compiled code.
require('tsx/cjs/api').register();
require('../src/cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
