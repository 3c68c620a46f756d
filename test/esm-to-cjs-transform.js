'use strict';
// Jest runs CommonJS; Observable Plot and d3 ship only ES modules. Node itself loads them with
// require(esm) (Node >= 20.19), but Jest's module runtime does not before Node 24.9, so Jest
// compiles those packages to CommonJS with esbuild (the compiler tsx already uses).
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    const { code, map } = transformSync(source, {
      format: 'cjs',
      loader: 'js',
      target: 'node20',
      sourcefile: filename,
      sourcemap: 'external',
    });
    return { code, map };
  },
};
