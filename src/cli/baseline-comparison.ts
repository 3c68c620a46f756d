import type { TrainingReport } from '../../schemas/report';

/** Hospitals whose local-only model ranks their own test stays better than the federated model. */
export function localOnlyWins(
  federated: TrainingReport['baselines'][number]['quality'],
  localOnly: TrainingReport['baselines'][number]['quality'],
  hospitals: readonly string[],
): { hospitalId: string; local: number; federated: number }[] {
  return hospitals.flatMap((hospitalId) => {
    const local = localOnly.perHospital[hospitalId]?.auroc ?? null;
    const fed = federated.perHospital[hospitalId]?.auroc ?? null;
    return local !== null && fed !== null && local > fed ? [{ hospitalId, local, federated: fed }] : [];
  });
}
