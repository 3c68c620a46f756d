/**
 * A source of randomness handed to core code (STYLE.md habit 6: core takes no ambient randomness).
 *
 * Two kinds exist: a seeded generator for reproducible simulation (cohort generation, weight
 * initialisation, shuffling) and a cryptographically secure one for privacy noise. Privacy code
 * must demand `SecureRandom`, which only the node:crypto-backed implementation satisfies.
 */
export interface Random {
  /** A uniform double in [0, 1). */
  nextDouble(): number;
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
}

/** Randomness suitable for differential-privacy noise: from the operating system's CSPRNG. */
export interface SecureRandom extends Random {
  readonly secure: true;
  /** Fills `out` with independent standard-normal samples. */
  fillStandardNormal(out: Float64Array | Float32Array): void;
  /**
   * A hint that the next fillStandardNormal will ask for `length` samples: an implementation may
   * start drawing them now, on another thread, so the caller's work overlaps the draw. Optional;
   * the samples are the same in distribution either way, and are used once.
   */
  prefetchStandardNormal?(length: number): void;
}
