import { RE2JS } from 're2js';
import { raiseError } from '../errors';
import type { WfValue } from '../values';
import { needString } from './arguments';
import { defineFunctions } from './registry';

/**
 * text.match_regex, text.find_all_regex, text.replace_all_regex
 * (https://cloud.google.com/workflows/docs/reference/stdlib/text/match_regex, .../text/find_all_regex,
 * .../text/replace_all_regex). Workflows takes RE2 syntax (https://github.com/google/re2/wiki/Syntax);
 * JavaScript's RegExp is a different language (lookaround, backreferences, `$` before a final
 * newline...), so patterns are compiled by re2js, a port of RE2: what RE2 rejects (lookbehind,
 * lookahead, `\1`) is a ValueError here too, as it is in the cloud. Matches are
 * leftmost-longest, as the find_all_regex and replace_all_regex pages specify; indexes are code points.
 */
const compiled = new Map<string, RE2JS>();

function compile(pattern: string, fn: string): RE2JS {
  let re = compiled.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern, RE2JS.LONGEST_MATCH);
    } catch (e) {
      raiseError('ValueError', `${fn}: invalid regular expression '${pattern}': ${(e as Error).message}`);
    }
    compiled.set(pattern, re);
  }
  return re;
}

interface Match {
  start: number;
  end: number;
  text: string;
}

function matches(source: string, pattern: string, fn: string): Match[] {
  const m = compile(pattern, fn).matcher(source);
  const out: Match[] = [];
  while (m.find()) out.push({ start: m.start(), end: m.end(), text: m.group() ?? '' });
  return out;
}

const codePoints = (s: string, utf16Index: number): number => [...s.slice(0, utf16Index)].length;

export const regexFunctions = defineFunctions({
  'text.match_regex': [
    ['source', 'regexp'],
    2,
    ([s, r]) => {
      const source = needString(s, 'text.match_regex', 'source');
      return compile(needString(r, 'text.match_regex', 'regexp'), 'text.match_regex')
        .matcher(source)
        .find();
    },
  ],
  'text.find_all_regex': [
    ['source', 'regexp'],
    2,
    ([s, r]) => {
      const source = needString(s, 'text.find_all_regex', 'source');
      return matches(source, needString(r, 'text.find_all_regex', 'regexp'), 'text.find_all_regex').map(
        (x) =>
          new Map<string, WfValue>([
            ['index', BigInt(codePoints(source, x.start))],
            ['match', x.text],
          ]),
      );
    },
  ],
  // The replacement is literal: the page says backreferences such as \1 are not supported.
  'text.replace_all_regex': [
    ['source', 'regexp', 'repl'],
    3,
    ([s, r, p]) => {
      const source = needString(s, 'text.replace_all_regex', 'source');
      const repl = needString(p, 'text.replace_all_regex', 'repl');
      let out = '';
      let at = 0;
      for (const x of matches(
        source,
        needString(r, 'text.replace_all_regex', 'regexp'),
        'text.replace_all_regex',
      )) {
        out += source.slice(at, x.start) + repl;
        at = x.end;
      }
      return out + source.slice(at);
    },
  ],
});
