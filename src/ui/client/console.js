// HIMAS console, in the browser: live refresh of running runs, charts (Observable Plot, served by
// the console itself) and the risk calculator. DOM text only: nothing from the server is parsed as
// markup except the server's own escaped fragments.
'use strict';

function refreshLive() {
  for (const holder of document.querySelectorAll('[data-refresh]')) {
    const url = holder.getAttribute('data-refresh');
    const tick = async () => {
      const live = holder.querySelector('[data-live]');
      if (live && live.getAttribute('data-live') !== 'true') return;
      try {
        const response = await fetch(url, { headers: { accept: 'text/html' } });
        if (response.ok) {
          holder.innerHTML = await response.text();
          drawCharts(); // a run's fragment carries its charts' data
        }
      } catch {
        // The console stopped or the network blinked: try again on the next tick.
      }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }
}

function drawCharts() {
  const dataNode = document.getElementById('chart-data');
  if (!dataNode || typeof Plot === 'undefined') return;
  const data = JSON.parse(dataNode.textContent);
  const line = (field, label) => {
    const points = data.series.filter((d) => d[field] !== null);
    const bands = points.filter((d) => d[field + 'Interval']);
    return Plot.plot({
      width: 420,
      height: 260,
      marginLeft: 50,
      x: { label: 'round', tickFormat: 'd' },
      y: { label, grid: true },
      marks: [
        Plot.areaY(bands, {
          x: 'round',
          y1: (d) => d[field + 'Interval'][0],
          y2: (d) => d[field + 'Interval'][1],
          fill: '#1d3f7a',
          fillOpacity: 0.15,
        }),
        Plot.lineY(points, { x: 'round', y: field, stroke: '#1d3f7a' }),
        Plot.dot(points, { x: 'round', y: field, fill: '#1d3f7a', tip: true }),
      ],
    });
  };
  const put = (name, svg) => {
    const el = document.querySelector(`[data-chart="${name}"]`);
    if (el) el.replaceChildren(svg);
  };
  if (data.series.length > 0) {
    put('auroc', line('auroc', 'AUROC'));
    put('loss', line('loss', 'log loss'));
  }
  if (data.calibration) {
    put(
      'calibration',
      Plot.plot({
        width: 420,
        height: 300,
        marginLeft: 50,
        x: { label: 'predicted risk', domain: [0, 1], grid: true },
        y: { label: 'observed death rate', domain: [0, 1], grid: true },
        r: { range: [2, 12] },
        marks: [
          Plot.line(
            [
              [0, 0],
              [1, 1],
            ],
            { stroke: '#4a4a4a', strokeDasharray: '4 3' },
          ),
          Plot.dot(data.calibration.bins, {
            x: 'predicted',
            y: 'observed',
            r: 'n',
            fill: '#8a1111',
            fillOpacity: 0.7,
            tip: true,
          }),
        ],
      }),
    );
  }
}

function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

function renderAnswer(target, status, body) {
  const box = document.createElement('div');
  box.className = 'result';
  if (status === 503) {
    box.setAttribute('role', 'alert');
    box.append(text('h2', 'Refused: no servable model'), text('p', body.reason || body.error));
  } else if (status !== 200) {
    box.setAttribute('role', 'alert');
    box.append(text('h2', 'The stay was not accepted'), text('p', body.error || 'bad request'));
  } else if (body.risk === null) {
    box.append(text('h2', 'Insufficient data: no risk estimate'), text('p', body.dataSufficiency.reason));
  } else {
    box.append(text('h2', 'Estimated in-hospital mortality risk'));
    box.append(text('p', `${(body.risk * 100).toFixed(1)} %`, 'risk'));
    box.append(text('p', `Band: ${body.band} (${body.bandInterval})`));
  }
  if (status === 200) {
    box.append(
      text('p', `Model ${body.model.versionId} (run ${body.model.runId}, round ${body.model.round})`),
    );
    for (const s of body.privacyStatements || []) box.append(text('p', `Privacy: ${s}`, 'hint'));
    for (const f of body.flags || []) box.append(text('p', `Flag: ${f.message}`));
    if (body.topFeatures && body.topFeatures.length > 0) {
      const table = document.createElement('table');
      table.append(text('caption', 'Top drivers (contribution to the log-odds against an average stay)'));
      const head = document.createElement('tr');
      for (const h of ['Feature', 'Contribution', 'Value']) {
        const th = text('th', h);
        th.scope = 'col';
        head.append(th);
      }
      table.append(head);
      for (const f of body.topFeatures) {
        const row = document.createElement('tr');
        row.append(
          text('th', f.feature),
          text('td', (f.contribution >= 0 ? '+' : '−') + Math.abs(f.contribution).toFixed(2)),
          text('td', f.status === 'measured' ? String(f.value) : f.status),
        );
        row.firstChild.scope = 'row';
        table.append(row);
      }
      box.append(table);
    }
    if (body.narrative) box.append(text('h3', 'Narrative'), text('p', body.narrative.text));
  }
  target.replaceChildren(box);
  target.focus();
}

function calculator() {
  const form = document.getElementById('calculator');
  if (!form) return;
  const result = document.getElementById('calc-result');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const stay = {};
    for (const input of form.querySelectorAll('input[type="number"]')) {
      if (input.value.trim() !== '') stay[input.name] = Number(input.value);
    }
    stay.first_careunit = form.elements.first_careunit.value;
    result.replaceChildren(text('p', 'Estimating…'));
    try {
      const response = await fetch('/api/predict', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ runId: form.elements.runId.value, stay }),
      });
      renderAnswer(result, response.status, await response.json());
    } catch (error) {
      renderAnswer(result, 0, { error: `the console did not answer (${error.message})` });
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  refreshLive();
  drawCharts();
  calculator();
});
