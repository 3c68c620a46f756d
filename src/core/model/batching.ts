import type { Random } from '../random/random';

/**
 * Which rows form each mini-batch of one epoch. A separate strategy so DP-SGD can swap in Poisson
 * sampling (each row joins each batch independently with rate q, as its privacy analysis assumes)
 * without touching the training loop.
 */
export type BatchSchedule = (rows: number, batchSize: number, random: Random) => Int32Array[];

/** A fresh Fisher–Yates permutation of the rows, cut into consecutive batches (the last may be short). */
export const shuffledBatches: BatchSchedule = (rows, batchSize, random) => {
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  for (let i = rows - 1; i > 0; i--) {
    // nextDouble carries 53 random bits, so the bias of floor(u·(i+1)) is about (i+1)/2^53.
    const j = Math.floor(random.nextDouble() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const batches: Int32Array[] = [];
  for (let start = 0; start < rows; start += batchSize)
    batches.push(order.subarray(start, start + batchSize));
  return batches;
};
