'use strict';
// The --source functions-framework loads for `himas stack up`: registers tsx, then loads the
// function's TypeScript entry point (functions/<HIMAS_FUNCTION>/index.ts, HIMAS_FUNCTION being e.g.
// `aggregate` or `agents/privacy-guardian`), which registers itself
// with functions-framework exactly as the deployed build does.
const path = require('node:path');
require('tsx/cjs/api').register();
const name = process.env.HIMAS_FUNCTION;
if (!name || !/^[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)?$/.test(name)) {
  throw new Error(`HIMAS_FUNCTION must name a folder under functions/, got ${JSON.stringify(name)}`);
}
module.exports = require(path.resolve(__dirname, '..', '..', '..', 'functions', name, 'index.ts'));
