import { distance } from 'fastest-levenshtein';

/**
 * "Did you mean" for a misspelt command, flag or config key: the closest known name by edit
 * distance, compared without case, '-' or '_' (so `local_epochs` finds `localEpochs` and
 * `--local_epochs` finds `--local-epochs`), and only when it is close enough to be a typo.
 */
export function closestName(input: string, known: readonly string[]): string | undefined {
  const key = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const wanted = key(input);
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const d = distance(wanted, key(name));
    if (!best || d < best.distance) best = { name, distance: d };
  }
  // 1 edit for short words, 2 up to five letters (a swap is 2: `trian` → train), else 3.
  const allowed = wanted.length <= 3 ? 1 : wanted.length <= 5 ? 2 : 3;
  return best && best.distance <= allowed ? best.name : undefined;
}

/** ` (did you mean 'train'?)` or '' when nothing is close. */
export function didYouMean(input: string, known: readonly string[]): string {
  const name = closestName(input, known);
  return name === undefined ? '' : ` (did you mean '${name}'?)`;
}
