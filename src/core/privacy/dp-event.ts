import { z } from 'zod';

/**
 * A privacy mechanism described as data, after dp_accounting's `dp_event.py` (STYLE.md habit 3).
 * A run's privacy ledger is a list of these; epsilon is always recomputed from the ledger.
 *
 * - gaussian: the Gaussian mechanism with noise std = noiseMultiplier x L2 sensitivity.
 * - poisson-sampled: each unit (patient, or hospital) is included independently with probability
 *   samplingProbability before `event` runs on the sample.
 * - self-composed: `event` applied `count` times (adaptively).
 * - composed: each of `events` applied once, in sequence (adaptively).
 * - no-op: nothing released.
 */
export type DpEvent =
  | { kind: 'gaussian'; noiseMultiplier: number }
  | { kind: 'poisson-sampled'; samplingProbability: number; event: DpEvent }
  | { kind: 'self-composed'; event: DpEvent; count: number }
  | { kind: 'composed'; events: DpEvent[] }
  | { kind: 'no-op' };

/** Validates a ledger entry loaded from storage (recursive). */
export const DpEventSchema: z.ZodType<DpEvent> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('gaussian'), noiseMultiplier: z.number().nonnegative() }).strict(),
    z
      .object({
        kind: z.literal('poisson-sampled'),
        samplingProbability: z.number().min(0).max(1),
        event: DpEventSchema,
      })
      .strict(),
    z
      .object({
        kind: z.literal('self-composed'),
        event: DpEventSchema,
        count: z.number().int().nonnegative(),
      })
      .strict(),
    z.object({ kind: z.literal('composed'), events: z.array(DpEventSchema) }).strict(),
    z.object({ kind: z.literal('no-op') }).strict(),
  ]),
);

export function gaussianEvent(noiseMultiplier: number): DpEvent {
  return { kind: 'gaussian', noiseMultiplier };
}

export function poissonSampledEvent(samplingProbability: number, event: DpEvent): DpEvent {
  return { kind: 'poisson-sampled', samplingProbability, event };
}

export function selfComposedEvent(event: DpEvent, count: number): DpEvent {
  return { kind: 'self-composed', event, count };
}

export function composedEvent(events: DpEvent[]): DpEvent {
  return { kind: 'composed', events };
}

export const NO_OP_EVENT: DpEvent = { kind: 'no-op' };
