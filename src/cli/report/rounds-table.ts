import type { TrainingReport } from '../../../schemas/report';
import { formatDuration, formatEpsilon, MISSING } from './format';
import { markup, type SafeHtml } from './html-escape';

/** Participant lists longer than this are shown as a count with the ids folded away. */
const LIST_PARTICIPANTS_UP_TO = 8;

type Round = TrainingReport['rounds'][number];

function participantsCell(round: Round): SafeHtml {
  const count = round.participants.length;
  if (count === 0) return markup`<td class="num">0</td>`;
  if (count <= LIST_PARTICIPANTS_UP_TO)
    return markup`<td>
      <span class="count">${count}</span> <span class="muted">${round.participants.join(', ')}</span>
    </td>`;
  return markup`<td>
    <details>
      <summary>${count} hospitals</summary>
      <span class="muted">${round.participants.join(', ')}</span>
    </details>
  </td>`;
}

function rejectedCell(round: Round): SafeHtml {
  const rejected = Object.entries(round.hospitals).filter(([, h]) => h.status === 'rejected');
  if (rejected.length === 0) return markup`<td class="muted">${MISSING}</td>`;
  return markup`<td>
    ${rejected.map(([id, h], i) => markup`${i > 0 ? markup`<br />` : ''}${id}${h.reason ? markup`: <span class="muted">${h.reason}</span>` : ''}`)}
  </td>`;
}

export function renderRoundsSection(report: TrainingReport): SafeHtml {
  if (report.rounds.length === 0)
    return markup`<section id="rounds">
      <h2>Rounds</h2>
      <p class="muted">No round has started.</p>
    </section>`;
  const rows = report.rounds.map(
    (r) =>
      markup`<tr class="status-${r.status}">
        <td class="num">${r.round}</td>
        <td><span class="badge badge-${r.status}">${r.status}</span></td>
        <td class="num">${formatDuration(r.seconds)}</td>
        ${participantsCell(r)}
        <td>${r.failureReason ?? MISSING}</td>
        ${rejectedCell(r)}
        <td class="num">${formatEpsilon(r.epsilon)}</td>
      </tr>`,
  );
  return markup`<section id="rounds">
    <h2>Rounds</h2>
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col" class="num">Round</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">Time</th>
            <th scope="col">Participants</th>
            <th scope="col">Failure reason</th>
            <th scope="col">Rejected updates</th>
            <th scope="col" class="num">Hospital ε after round</th>
          </tr>
        </thead>
        <tbody>
          ${rows}
        </tbody>
      </table>
    </div>
  </section>`;
}
