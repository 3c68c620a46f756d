/**
 * What `himas` exits with. A script can tell a run that left a model to serve (0) from one that
 * did not, and why, without parsing the output. The README's table and `himas --help` are
 * rendered from (and tested against) this one list.
 */
export const EXIT_CODES = {
  ok: { code: 0, meaning: 'success; for `himas train`, the run left a servable model' },
  error: { code: 1, meaning: 'unexpected error (a bug or a broken stack); the message says where' },
  usage: { code: 2, meaning: 'bad input (a flag, a value, a file, a path): nothing was written, no ε spent' },
  halted: {
    code: 3,
    meaning: 'the run halted (privacy budget, privacy guardian) before it trained a model within its limits',
  },
  failed: {
    code: 4,
    meaning: 'the run failed: no round closed (quorum not met, every job refused), or the workflow failed',
  },
  diverged: {
    code: 5,
    meaning:
      'the run finished, but its model is not one to serve (training blew up, or it predicts worse than the initial model or chance): it is not presented as final',
  },
  busy: { code: 6, meaning: 'the store is in use by another `himas train` (wait for it, or use --home DIR)' },
  storage: {
    code: 7,
    meaning:
      'the store could not be used: its disk is full, it cannot be written, or a file in it is damaged (the message names the file and what to do; nothing accepted was changed)',
  },
} as const;

export type ExitReason = keyof typeof EXIT_CODES;

export const exitCode = (reason: ExitReason): number => EXIT_CODES[reason].code;

/** `  0  success; …` lines for --help. */
export function exitCodeLines(): string[] {
  return Object.values(EXIT_CODES).map(({ code, meaning }) => `  ${String(code).padEnd(3)}${meaning}`);
}
