import { randomFillSync } from 'node:crypto';
import type { SecureRandom } from '../core/random/random';
import { installKernelHelper } from './kernel-helper';
import { PrefetchedNormals } from './normal-prefetch';
import { zigguratNormals, zigguratTables } from './ziggurat-normal';

const TABLES = zigguratTables();

// The process that draws DP noise is the one that aggregates: give the kernels their second
// thread here, next to the noise worker (both start on first use, never keep the process alive).
installKernelHelper();
const refillWords = (words: Uint32Array): void => void randomFillSync(words);

const DEFAULT_CHUNK_BYTES = 64 * 1024;
const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * SecureRandom backed by the operating system's CSPRNG (node:crypto randomFillSync). Bytes are drawn
 * in chunks (64 KiB by default) into a reusable buffer, because one syscall per number would be
 * orders of magnitude slower. Buffered bytes are never reused: each is consumed exactly once.
 */
export class CryptoRandom implements SecureRandom {
  readonly secure = true as const;
  private readonly words: Uint32Array;
  private index: number;
  private prefetched: PrefetchedNormals | null = null;

  constructor(chunkBytes: number = DEFAULT_CHUNK_BYTES) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 8 || chunkBytes % 4 !== 0) {
      throw new RangeError(`chunkBytes must be a multiple of 4 and at least 8, got ${chunkBytes}`);
    }
    this.words = new Uint32Array(chunkBytes / 4);
    this.index = this.words.length; // filled lazily on first use
  }

  nextUint32(): number {
    if (this.index >= this.words.length) this.refill();
    return this.words[this.index++];
  }

  /** 53 random bits (27 + 26) scaled to [0, 1): every double on the 2^-53 grid is equally likely. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * TWO_POW_26 + lo) / TWO_POW_53;
  }

  /**
   * Standard normals by the ziggurat method (ziggurat-normal.ts: exact rejection sampling, 53-bit
   * uniforms, two CSPRNG words per sample in 98.8 % of samples), drawn by the noise worker when a
   * prefetch of this length is open.
   */
  fillStandardNormal(out: Float64Array | Float32Array): void {
    const prefetched = this.prefetched;
    this.prefetched = null;
    if (prefetched !== null && prefetched.takeInto(out, (chunk) => this.drawStandardNormal(chunk))) return;
    this.drawStandardNormal(out);
  }

  /** The ziggurat on this thread's own CSPRNG buffer. */
  private drawStandardNormal(out: Float64Array | Float32Array): void {
    this.index = zigguratNormals(this.words, this.index, out, TABLES, refillWords);
  }

  /**
   * Starts drawing the next `length` normals on a worker thread (normal-prefetch.ts): the next
   * fillStandardNormal of that length waits for them instead of drawing. Fresh bytes from
   * node:crypto either way; a prefetch of another length, or one that fails, is drawn here.
   */
  prefetchStandardNormal(length: number): void {
    if (this.prefetched?.length === length) return;
    this.prefetched?.discard();
    this.prefetched = PrefetchedNormals.request(length);
  }

  private refill(): void {
    // Discards any unread tail (fewer than 4 words at most when called from fillStandardNormal).
    randomFillSync(this.words);
    this.index = 0;
  }
}
