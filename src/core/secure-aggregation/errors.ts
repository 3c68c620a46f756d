/** A masked round that cannot be unmasked safely; the aggregator fails the round with its message. */
export class SecureAggregationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecureAggregationError';
  }
}
