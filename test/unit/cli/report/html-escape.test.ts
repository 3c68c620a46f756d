import { escapeHtml, markup, trustedHtml } from '../../../../src/cli/report/html-escape';
import { HOSTILE_ID } from './report-fixture';

describe('escapeHtml', () => {
  it('escapes the five characters that can end text or an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('turns a hostile hospital id into inert text', () => {
    expect(escapeHtml(HOSTILE_ID)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('leaves ordinary text, including ε and ∞, alone', () => {
    expect(escapeHtml('st-mary-icu ε = ∞')).toBe('st-mary-icu ε = ∞');
  });
});

describe('markup', () => {
  it('escapes interpolated strings and numbers, flattens arrays and drops null, undefined and booleans', () => {
    const out = markup`<td title="${'"q"'}">${HOSTILE_ID}${[1, markup`<b>${'&'}</b>`]}${null}${undefined}${false}</td>`;
    expect(out.value).toBe(
      '<td title="&quot;q&quot;">&lt;script&gt;alert(1)&lt;/script&gt;1<b>&amp;</b></td>',
    );
  });

  it('inserts trusted markup as it is', () => {
    expect(markup`<p>${trustedHtml('<svg></svg>')}</p>`.value).toBe('<p><svg></svg></p>');
  });
});
