import type { LayersModel } from '@tensorflow/tfjs';
import type { ModelQuality } from '../../schemas/report';
import type { TrainingConfig } from '../../schemas/training-config';
import {
  fitPreprocessor,
  transformRecords,
  type CohortRecord,
  type DesignMatrix,
  type Preprocessor,
} from '../core/data';
import { createModel, trainLocally } from '../core/model';
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
  central: ModelQuality;
  localOnly: ModelQuality;
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
}): Promise<SimulationBaselines> {
  const data: HospitalData[] = [];
  for (const hospitalId of input.hospitals) {
    data.push({
      hospitalId,
      train: await input.cohorts.read(hospitalId, 'train'),
      test: await input.cohorts.read(hospitalId, 'test'),
    });
  }
  const federated = qualityOf(
    data.map((h) => ({
      hospitalId: h.hospitalId,
      ...score(input.federatedModel, transformRecords(input.federatedPreprocessor, h.test)),
    })),
  );

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
  return { federated, central: centralQuality, localOnly: qualityOf(localScores) };
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
  return { pooled: metricsOf(labels, risks), perHospital };
}
