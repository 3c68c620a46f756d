/** One hospital's rows in the dense, row-major form the model consumes. */
export interface TrainingData {
  /** rows × cols, row-major. */
  features: Float32Array;
  /** 0 or 1 per row. */
  labels: Float32Array;
  rows: number;
  cols: number;
}

/** Checks shapes and values at the boundary, so a bad cohort fails before any tensor is built. */
export function validateTrainingData(data: TrainingData): void {
  const { features, labels, rows, cols } = data;
  if (!Number.isInteger(rows) || rows < 1)
    throw new RangeError(`rows must be a positive integer, got ${rows}`);
  if (!Number.isInteger(cols) || cols < 1)
    throw new RangeError(`cols must be a positive integer, got ${cols}`);
  if (features.length !== rows * cols) {
    throw new RangeError(`features hold ${features.length} values, expected rows × cols = ${rows} × ${cols}`);
  }
  if (labels.length !== rows)
    throw new RangeError(`labels hold ${labels.length} values, expected ${rows} (one per row)`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1)
      throw new RangeError(`label of row ${i} is ${labels[i]}; labels must be 0 or 1`);
  }
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i])) {
      throw new RangeError(
        `feature ${i % cols} of row ${Math.floor(i / cols)} is ${features[i]}; impute before training`,
      );
    }
  }
}

/** The model's expected feature count, read from its input layer. */
export function assertInputWidth(inputShape: ReadonlyArray<number | null>, cols: number): void {
  const width = inputShape[inputShape.length - 1];
  if (inputShape.length !== 2 || width !== cols) {
    throw new RangeError(
      `model expects input shape [${inputShape.map(String).join(', ')}] but the data has ${cols} columns`,
    );
  }
}
