import type { LayersModel } from '@tensorflow/tfjs';
import type { ModelQuality } from '../../schemas/report';
import { TrainingConfigSchema, type TrainingConfig } from '../../schemas/training-config';
import {
  fitPreprocessor,
  transformRecords,
  type CohortRecord,
  type DesignMatrix,
  type Preprocessor,
} from '../core/data';
import {
  createModel,
  getFlatWeights,
  interceptIndex,
  setFlatWeights,
  trainLocally,
  withSiteIntercept,
} from '../core/model';
import { simulateFederatedRounds } from './federated-simulation';
import { SeededRandom } from '../core/random/seeded-random';
import type { CohortSource } from '../ports/cohort-source';
import { evaluateModel, metricsOf } from '../services/model-evaluation';

/**
 * Reference points that only a simulation can compute, because they pool records: the federated
 * model scored exactly on every test split, a centrally trained model of the same architecture, and
 * each hospital training alone. Each gets the same number of passes over the data as the federated
 * run (rounds × local epochs), the same batch size and learning rate.
 */
export interface SimulationBaselines {
  federated: ModelQuality;
  /**
   * With site intercepts: the shared model as served centrally (its intercept the mean the
   * hospitals' intercept changes moved it to), scored on every hospital's test stays. Null without.
   */
  federatedShared: ModelQuality | null;
  central: ModelQuality;
  localOnly: ModelQuality;
  /**
   * With patient-level DP-SGD on: the non-private federated model (NON_PRIVATE_RECIPE, no DP-SGD,
   * no hospital-level noise) trained on the same hospitals for the same rounds, the yardstick of
   * what DP-SGD costs. Null when the run itself is non-private at patient level.
   */
  nonPrivateFederated: ModelQuality | null;
}

interface HospitalData {
  hospitalId: string;
  train: CohortRecord[];
  test: CohortRecord[];
}

export async function computeSimulationBaselines(input: {
  cohorts: CohortSource;
  hospitals: string[];
  config: TrainingConfig;
  federatedModel: LayersModel;
  federatedPreprocessor: Preprocessor;
  /**
   * With site intercepts, each hospital's own intercept for the scored version (absent or null:
   * it has none yet and scores with the shared one), as the hospital itself scores.
   */
  federatedIntercepts?: Readonly<Record<string, number | null>>;
}): Promise<SimulationBaselines> {
  const data: HospitalData[] = [];
  for (const hospitalId of input.hospitals) {
    data.push({
      hospitalId,
      train: await input.cohorts.read(hospitalId, 'train'),
      test: await input.cohorts.read(hospitalId, 'test'),
    });
  }
  const shared = getFlatWeights(input.federatedModel);
  const index = input.federatedIntercepts ? interceptIndex(input.federatedModel) : -1;
  const federatedScores = data.map((h) => {
    const own = input.federatedIntercepts?.[h.hospitalId] ?? null;
    if (own !== null) setFlatWeights(input.federatedModel, withSiteIntercept(shared, index, own));
    try {
      return {
        hospitalId: h.hospitalId,
        ...score(input.federatedModel, transformRecords(input.federatedPreprocessor, h.test)),
      };
    } finally {
      if (own !== null) setFlatWeights(input.federatedModel, shared);
    }
  });
  const federated = qualityOf(federatedScores);
  const federatedShared = input.federatedIntercepts
    ? qualityOf(
        data.map((h) => ({
          hospitalId: h.hospitalId,
          ...score(input.federatedModel, transformRecords(input.federatedPreprocessor, h.test)),
        })),
      )
    : null;

  const pooledTrain = data.flatMap((h) => h.train);
  const centralPreprocessor = fitPreprocessor(pooledTrain);
  const central = await trainReference(
    input.config,
    transformRecords(centralPreprocessor, pooledTrain),
    'central',
  );
  const centralQuality = qualityOf(
    data.map((h) => ({
      hospitalId: h.hospitalId,
      ...score(central, transformRecords(centralPreprocessor, h.test)),
    })),
  );
  central.dispose();

  const localScores = [];
  for (const h of data) {
    const preprocessor = fitPreprocessor(h.train);
    const model = await trainReference(
      input.config,
      transformRecords(preprocessor, h.train),
      `local:${h.hospitalId}`,
    );
    localScores.push({ hospitalId: h.hospitalId, ...score(model, transformRecords(preprocessor, h.test)) });
    model.dispose();
  }
  const nonPrivateFederated =
    input.config.patientPrivacy === 'dp-sgd'
      ? await simulateNonPrivateFederated(input.config, data, input.federatedPreprocessor)
      : null;
  return {
    federated,
    federatedShared,
    central: centralQuality,
    localOnly: qualityOf(localScores),
    nonPrivateFederated,
  };
}

/** The settings of the non-private federated model on the same run: recipe fields from NON_PRIVATE_RECIPE. */
export function nonPrivateConfig(config: TrainingConfig): TrainingConfig {
  const { model, hiddenUnits, localEpochs, batchSize, localLearningRate, ...rest } = config;
  void [model, hiddenUnits, localEpochs, batchSize, localLearningRate];
  return TrainingConfigSchema.parse({
    ...rest,
    patientPrivacy: 'none',
    noiseMultiplier: 0,
    epsilonBudget: null,
  });
}

/**
 * Federated training as the run's jobs and aggregator do it (same initial weights, batch order per
 * hospital and round, update clipping and aggregation strategy), in one process and without any
 * privacy noise.
 */
async function simulateNonPrivateFederated(
  privateConfig: TrainingConfig,
  data: HospitalData[],
  preprocessor: Preprocessor,
): Promise<ModelQuality> {
  const config = nonPrivateConfig(privateConfig);
  const trains = data.map((h) => ({
    hospitalId: h.hospitalId,
    design: transformRecords(preprocessor, h.train),
  }));
  const spec = {
    kind: config.model,
    inputDim: preprocessor.featureNames.length,
    hiddenUnits: config.model === 'mlp' ? config.hiddenUnits : [],
  };
  const model = createModel(spec, config.seed);
  try {
    await simulateFederatedRounds({
      config,
      model,
      hospitals: trains.map((t) => ({ hospitalId: t.hospitalId, declaredRows: t.design.rows })),
      trainLocal: (i, round) =>
        trainLocally(model, trains[i].design, {
          epochs: config.localEpochs,
          batchSize: config.batchSize,
          learningRate: config.localLearningRate,
          proximalMu: config.proximalMu,
          random: new SeededRandom(config.seed).fork(`shuffle:${trains[i].hospitalId}:${round}`),
        }).then(() => undefined),
    });
    return qualityOf(
      data.map((h) => ({
        hospitalId: h.hospitalId,
        ...score(model, transformRecords(preprocessor, h.test)),
      })),
    );
  } finally {
    model.dispose();
  }
}

async function trainReference(
  config: TrainingConfig,
  train: DesignMatrix,
  label: string,
): Promise<LayersModel> {
  const model = createModel(
    {
      kind: config.model,
      inputDim: train.cols,
      hiddenUnits: config.model === 'mlp' ? config.hiddenUnits : [],
    },
    config.seed,
  );
  await trainLocally(model, train, {
    epochs: config.rounds * config.localEpochs,
    batchSize: config.batchSize,
    learningRate: config.localLearningRate,
    random: new SeededRandom(config.seed).fork(`baseline:${label}`),
  });
  return model;
}

function score(model: LayersModel, design: DesignMatrix): { labels: Float32Array; risks: Float32Array } {
  return { labels: design.labels, risks: evaluateModel(model, design).risks };
}

/** Per-hospital metrics, and pooled metrics over every hospital's test stays together (exact). */
function qualityOf(
  scores: Array<{ hospitalId: string; labels: Float32Array; risks: Float32Array }>,
): ModelQuality {
  const perHospital: ModelQuality['perHospital'] = {};
  for (const s of scores) perHospital[s.hospitalId] = metricsOf(s.labels, s.risks);
  const total = scores.reduce((n, s) => n + s.labels.length, 0);
  const labels = new Float32Array(total);
  const risks = new Float32Array(total);
  let offset = 0;
  for (const s of scores) {
    labels.set(s.labels, offset);
    risks.set(s.risks, offset);
    offset += s.labels.length;
  }
  return { pooled: metricsOf(labels, risks), perHospital, intervals: null };
}

/** The non-private federated baseline's report entry and a note stating what DP-SGD cost. */
export function privacyCostBaseline(
  baselines: SimulationBaselines,
  config: TrainingConfig,
): { baseline: { name: string; description: string; quality: ModelQuality }; note: string } | null {
  if (!baselines.nonPrivateFederated) return null;
  const reference = nonPrivateConfig(config);
  const model =
    reference.model === 'mlp' ? `MLP [${reference.hiddenUnits.join(', ')}]` : 'logistic regression';
  const privateAuroc = baselines.federated.pooled.auroc;
  const publicAuroc = baselines.nonPrivateFederated.pooled.auroc;
  const difference = privateAuroc !== null && publicAuroc !== null ? privateAuroc - publicAuroc : null;
  const show = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  return {
    baseline: {
      name: 'non-private federated',
      description: `the same hospitals and rounds without patient-level DP-SGD or hospital-level noise (${model}, batch ${reference.batchSize}, learning rate ${reference.localLearningRate}, ${reference.localEpochs} local epochs): what the privacy costs`,
      quality: baselines.nonPrivateFederated,
    },
    note: `Patient-level DP-SGD (target ε = ${config.patientTargetEpsilon} per hospital, δ = ${config.delta}): pooled test AUROC ${show(privateAuroc)} vs ${show(publicAuroc)} for the non-private federated model (difference ${difference === null ? 'n/a' : (difference >= 0 ? '+' : '') + difference.toFixed(3)}).`,
  };
}
