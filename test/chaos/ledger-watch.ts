import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { SignedLedgerEntrySchema, type LedgerEntry } from '../../schemas/privacy-ledger';

/**
 * Watches the hospitals' privacy ledgers (`<root>/<hospital>/<sequence>.json`, one file per entry,
 * written to a dot-named temporary file and renamed, so a file that is there is whole) for an
 * entry that did not exist when the watch began: how the suite knows a hospital job has charged
 * its ledger and is now reading its data, the moment a kill costs a repeated charge.
 */
export interface LedgerWatch {
  /** New entries since the watch began (or since the last call), oldest first per hospital. */
  fresh(): LedgerEntry[];
}

export function watchLedgers(root: string): LedgerWatch {
  const seen = new Map<string, Set<string>>();
  const scan = (): Array<{ hospitalId: string; file: string }> => {
    const found: Array<{ hospitalId: string; file: string }> = [];
    for (const hospitalId of safeList(root)) {
      for (const file of safeList(path.join(root, hospitalId))
        .filter((f) => /^\d+\.json$/.test(f))
        .sort())
        found.push({ hospitalId, file });
    }
    return found;
  };
  const mark = (hospitalId: string, file: string) => {
    const files = seen.get(hospitalId) ?? new Set<string>();
    files.add(file);
    seen.set(hospitalId, files);
  };
  for (const { hospitalId, file } of scan()) mark(hospitalId, file);
  return {
    fresh() {
      const entries: LedgerEntry[] = [];
      for (const { hospitalId, file } of scan()) {
        if (seen.get(hospitalId)?.has(file)) continue;
        mark(hospitalId, file);
        const json: unknown = JSON.parse(readFileSync(path.join(root, hospitalId, file), 'utf8'));
        entries.push(SignedLedgerEntrySchema.parse(json).entry);
      }
      return entries;
    },
  };
}

function safeList(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return []; // not created yet: no hospital has charged anything
  }
}
