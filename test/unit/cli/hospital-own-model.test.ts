import type { LayersModel } from '@tensorflow/tfjs';
import { useHospitalOwnIntercept } from '../../../src/cli/hospital-own-model';

// Refused before any store is opened or any weight is touched: the model is never used.
const untouched = {} as LayersModel;

describe('himas predict --hospital (bad input)', () => {
  it('refuses an id that is not a hospital id, and a model folder that names no run or round', async () => {
    await expect(
      useHospitalOwnIntercept(
        '/nonexistent',
        { runId: 'r', round: 1 } as never,
        '../h1',
        untouched,
        'model folder m',
      ),
    ).rejects.toThrow(/--hospital \.\.\/h1 is not a hospital id/);
    await expect(
      useHospitalOwnIntercept('/nonexistent', {} as never, 'h1', untouched, 'model folder m'),
    ).rejects.toThrow(/model folder m does not say which run and round it comes from/);
    await expect(
      useHospitalOwnIntercept(
        '/nonexistent',
        { runId: 'r', round: 1 } as never,
        'h1',
        untouched,
        'model folder m',
      ),
    ).rejects.toThrow(/no HIMAS store in \/nonexistent yet/);
  });
});
