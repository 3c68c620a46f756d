import { buildStrategy } from '../../../src/services/strategy-from-config';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DP_SGD_RECIPE,
  NON_PRIVATE_RECIPE,
  TrainingConfigSchema,
  usesSecureAggregation,
} from '../../../schemas/training-config';
import { UserError } from '../../../src/cli/user-error';
import {
  CONFIG_FIELDS,
  envName,
  flagName,
  loadTrainingConfig,
  type LoadConfigInput,
} from '../../../src/config/training-config-loader';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'himas-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

function errorOf(input: LoadConfigInput): UserError {
  try {
    loadTrainingConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error('loadTrainingConfig accepted the input');
}

describe('loadTrainingConfig', () => {
  it('returns the schema defaults when nothing is given (and ignores unrelated env)', () => {
    const config = loadTrainingConfig({ env: { PATH: '/usr/bin', HIMAS_UNRELATED: 'x' } });
    expect(config).toEqual(TrainingConfigSchema.parse({}));
    expect(config).toMatchObject({
      rounds: 5,
      preset: 'archetypes',
      patientPrivacy: 'dp-sgd',
      ...DP_SGD_RECIPE,
      hiddenUnits: [...DP_SGD_RECIPE.hiddenUnits],
      aggregation: 'dp-fedavg',
      noiseMultiplier: 0,
      epsilonBudget: null,
      delta: 1e-5,
    });
    expect(config.quorum).toBeUndefined();
  });

  it('reads secureAggregation as a boolean flag, on by default only with dp-fedavg', () => {
    expect(usesSecureAggregation(loadTrainingConfig({}))).toBe(true);
    expect(loadTrainingConfig({ flags: { secureAggregation: 'false' } }).secureAggregation).toBe(false);
    expect(loadTrainingConfig({ env: { HIMAS_SECURE_AGGREGATION: 'on' } }).secureAggregation).toBe(true);
    expect(usesSecureAggregation(loadTrainingConfig({ flags: { aggregation: 'fedavg' } }))).toBe(false);
    expect(() => loadTrainingConfig({ flags: { secureAggregation: 'maybe' } })).toThrow(
      /--secure-aggregation.*expected true or false/,
    );
    expect(() => loadTrainingConfig({ flags: { aggregation: 'fedavg', secureAggregation: 'true' } })).toThrow(
      /secure aggregation needs aggregation 'dp-fedavg'/,
    );
  });

  it('robust aggregations need the updates in the clear and are their own server rule', () => {
    const median = loadTrainingConfig({ flags: { aggregation: 'median' } });
    expect(usesSecureAggregation(median)).toBe(false);
    expect(buildStrategy(median).name).toBe('median');
    expect(
      buildStrategy(loadTrainingConfig({ flags: { aggregation: 'trimmed-mean', trimFraction: '0.2' } })).name,
    ).toBe('trimmed-mean');
    expect(() => loadTrainingConfig({ flags: { aggregation: 'median', secureAggregation: 'true' } })).toThrow(
      /secure aggregation hides the single updates that median needs/,
    );
    expect(() =>
      loadTrainingConfig({ flags: { aggregation: 'trimmed-mean', noiseMultiplier: '1' } }),
    ).toThrow(/noise needs aggregation 'dp-fedavg' \(trimmed-mean has no sensitivity bound\)/);
    expect(() => loadTrainingConfig({ flags: { aggregation: 'median', serverOptimizer: 'adam' } })).toThrow(
      /median is its own server rule: it takes serverOptimizer 'sgd'/,
    );
    expect(() => loadTrainingConfig({ flags: { trimFraction: '0.5' } })).toThrow(/trimFraction/);
  });

  it('builds each server optimizer, inside DP-FedAvg by default', () => {
    for (const [optimizer, name] of [
      ['sgd', 'fedavg'],
      ['momentum', 'fedavgm'],
      ['adam', 'fedadam'],
      ['yogi', 'fedyogi'],
      ['adagrad', 'fedadagrad'],
    ]) {
      expect(
        buildStrategy(loadTrainingConfig({ flags: { aggregation: 'fedavg', serverOptimizer: optimizer } }))
          .name,
      ).toBe(name);
      expect(buildStrategy(loadTrainingConfig({ flags: { serverOptimizer: optimizer } })).name).toMatch(
        /^dp-fedavg/,
      );
    }
    expect(loadTrainingConfig({ flags: { proximalMu: '0.1', serverMomentum: '0.5' } })).toMatchObject({
      proximalMu: 0.1,
      serverMomentum: 0.5,
    });
  });

  it('takes the recipe of the privacy mode for each recipe field left unset; explicit values win', () => {
    const recipeOf = (config: ReturnType<typeof loadTrainingConfig>) => ({
      model: config.model,
      hiddenUnits: config.hiddenUnits,
      localEpochs: config.localEpochs,
      batchSize: config.batchSize,
      localLearningRate: config.localLearningRate,
    });
    expect(recipeOf(loadTrainingConfig({}))).toEqual({ ...DP_SGD_RECIPE, hiddenUnits: [16] });
    expect(recipeOf(loadTrainingConfig({ flags: { patientPrivacy: 'none' } }))).toEqual({
      ...NON_PRIVATE_RECIPE,
      hiddenUnits: [64, 32],
    });
    const mixed = loadTrainingConfig({
      flags: { batchSize: '32' },
      env: { HIMAS_MODEL: 'mlp' },
      file: file('c.yaml', 'localEpochs: 7\n'),
    });
    expect(recipeOf(mixed)).toEqual({
      ...DP_SGD_RECIPE,
      hiddenUnits: [16],
      model: 'mlp',
      batchSize: 32,
      localEpochs: 7,
    });
    // A stored (resolved) config parses to itself, so a resumed run keeps its recipe.
    expect(TrainingConfigSchema.parse(mixed)).toEqual(mixed);
    expect(TrainingConfigSchema.parse({ rounds: 3 }).model).toBe(DP_SGD_RECIPE.model); // the workflow's partial config
  });

  it('rejects a per-run patient target above the lifetime budget, naming both', () => {
    expect(errorOf({ flags: { patientTargetEpsilon: '8' } }).message).toMatch(
      /patientTargetEpsilon' = 8 \(from --patient-target-epsilon\): a run's patient-level target ε 8 exceeds each hospital's lifetime budget patientBudgetEpsilon 3/,
    );
    expect(
      loadTrainingConfig({ flags: { patientTargetEpsilon: '8', patientBudgetEpsilon: '8' } })
        .patientBudgetEpsilon,
    ).toBe(8);
    // Without DP-SGD the target still bounds the run's other releases (the test split's evaluations).
    expect(errorOf({ flags: { patientTargetEpsilon: '8', patientPrivacy: 'none' } }).message).toMatch(
      /exceeds each hospital's lifetime budget/,
    );
  });

  it('names flags and env vars after the fields', () => {
    expect(flagName('localLearningRate')).toBe('local-learning-rate');
    expect(envName('localLearningRate')).toBe('HIMAS_LOCAL_LEARNING_RATE');
    expect(envName('rounds')).toBe('HIMAS_ROUNDS');
    expect(Object.keys(CONFIG_FIELDS).sort()).toEqual(
      Object.keys(TrainingConfigSchema.parse({}))
        .concat([
          'hospitals',
          'patients',
          'quorum',
          'secureAggregation',
          'secureAggregationThreshold',
          'outbreak',
        ])
        .sort(),
    );
  });

  it('applies precedence flag > env > file > stored base > default', () => {
    const yaml = file('config.yaml', 'rounds: 7\nbatchSize: 16\nlocalEpochs: 3\nclipNorm: 1.5\n');
    const config = loadTrainingConfig({
      base: { rounds: 2, batchSize: 2, localEpochs: 2, clipNorm: 2, seed: 99, deadlineSeconds: 30 },
      file: yaml,
      env: { HIMAS_ROUNDS: '8', HIMAS_BATCH_SIZE: '32' },
      flags: { rounds: '9' },
    });
    expect(config.rounds).toBe(9); // flag beats env, file and base
    expect(config.batchSize).toBe(32); // env beats file
    expect(config.localEpochs).toBe(3); // file beats base
    expect(config.clipNorm).toBe(1.5);
    expect(config.seed).toBe(99); // base beats default
    expect(config.deadlineSeconds).toBe(30);
    expect(config.localLearningRate).toBe(DP_SGD_RECIPE.localLearningRate); // default (the DP-SGD recipe)
  });

  it('reads YAML and JSON files', () => {
    const fromYaml = loadTrainingConfig({
      file: file(
        'c.yml',
        '# comment\nhiddenUnits: [16, 8]\nmodel: logistic\nepsilonBudget: 3\nnoiseMultiplier: 1.2\n',
      ),
    });
    expect(fromYaml).toMatchObject({
      hiddenUnits: [16, 8],
      model: 'logistic',
      epsilonBudget: 3,
      noiseMultiplier: 1.2,
    });
    const fromJson = loadTrainingConfig({ file: file('c.JSON', '{"rounds": 4, "aggregation": "fedavg"}') });
    expect(fromJson).toMatchObject({ rounds: 4, aggregation: 'fedavg' });
    expect(loadTrainingConfig({ file: file('empty.yaml', '') })).toEqual(TrainingConfigSchema.parse({}));
  });

  it('parses text values: lists, numbers and "none"', () => {
    const config = loadTrainingConfig({
      flags: {
        hiddenUnits: '32, 16,8',
        localLearningRate: '1e-3',
        epsilonBudget: '4.5',
        noiseMultiplier: '0.9',
      },
      env: { HIMAS_PRESET: 'eicu-like' },
    });
    expect(config).toMatchObject({
      hiddenUnits: [32, 16, 8],
      localLearningRate: 0.001,
      epsilonBudget: 4.5,
      preset: 'eicu-like',
    });
    const none = loadTrainingConfig({
      file: file('b.yaml', 'epsilonBudget: 2\nnoiseMultiplier: 1\n'),
      flags: { epsilonBudget: 'none' },
    });
    expect(none.epsilonBudget).toBeNull();
  });

  describe('errors name the field, the value, where it came from and what is allowed', () => {
    it('rounds -3 from a flag', () => {
      expect(errorOf({ flags: { rounds: '-3' } }).message).toBe(
        "invalid config field 'rounds' = -3 (from --rounds): must be ≥ 1",
      );
    });

    it('rounds 2.5 from env is not an integer', () => {
      expect(errorOf({ env: { HIMAS_ROUNDS: '2.5' } }).message).toBe(
        "invalid config field 'rounds' = 2.5 (from HIMAS_ROUNDS): must be an integer",
      );
    });

    it("batchSize 'abc' from env", () => {
      const message = errorOf({ env: { HIMAS_BATCH_SIZE: 'abc' } }).message;
      expect(message).toBe(
        "invalid config field 'batchSize' = 'abc' (from HIMAS_BATCH_SIZE): expected a number",
      );
    });

    it('a bad list entry from a flag', () => {
      expect(errorOf({ flags: { hiddenUnits: '8,x' } }).message).toBe(
        "invalid config field 'hiddenUnits' = '8,x' (from --hidden-units): expected a number",
      );
    });

    it('a value out of range from a file', () => {
      expect(errorOf({ file: file('big.yaml', 'batchSize: 100000\n') }).message).toBe(
        "invalid config field 'batchSize' = 100000 (from big.yaml): must be ≤ 65536",
      );
    });

    it('a value of the wrong type from a file', () => {
      expect(errorOf({ file: file('t.json', '{"rounds": "five"}') }).message).toBe(
        'invalid config field \'rounds\' = "five" (from t.json): must be a number',
      );
    });

    it('an unknown field in a file', () => {
      const p = file('config.yaml', 'rounds: 3\nepochs: 4\n');
      const message = errorOf({ file: p }).message;
      expect(message).toContain(`config file ${p}: unknown field(s) 'epochs'`);
      expect(message).toContain('allowed: rounds, hospitals, preset');
      expect(message).toContain('localEpochs');
    });

    it('an unknown flag field', () => {
      expect(errorOf({ flags: { epochs: '3' } }).message).toBe("unknown config field 'epochs'");
    });

    it('malformed YAML and JSON', () => {
      const yaml = file('bad.yaml', 'rounds: [1, 2\nseed: 3\n');
      expect(errorOf({ file: yaml }).message).toMatch(
        new RegExp(`^config file ${yaml} is not valid YAML: \\S`),
      );
      const json = file('bad.json', '{"rounds": 3,}');
      expect(errorOf({ file: json }).message).toMatch(
        new RegExp(`^config file ${json} is not valid JSON: \\S`),
      );
    });

    it('a file that is not a mapping, and a missing file', () => {
      const list = file('list.yaml', '- 1\n- 2\n');
      expect(errorOf({ file: list }).message).toBe(
        `config file ${list} must hold a mapping of fields (like "rounds: 5"), not a list`,
      );
      const missing = path.join(dir, 'nope.yaml');
      expect(errorOf({ file: missing }).message).toBe(`cannot read config file ${missing}: ENOENT`);
    });

    it('epsilonBudget without noise', () => {
      const message = errorOf({ flags: { epsilonBudget: '1' } }).message;
      expect(message).toMatch(/^invalid config field 'epsilonBudget' = 1 \(from --epsilon-budget\): /);
      expect(message).toContain('a privacy budget needs noise: set noiseMultiplier > 0');
    });

    it('noise with plain FedAvg', () => {
      const message = errorOf({ env: { HIMAS_AGGREGATION: 'fedavg', HIMAS_NOISE_MULTIPLIER: '1' } }).message;
      expect(message).toBe(
        "invalid config field 'noiseMultiplier' = 1 (from HIMAS_NOISE_MULTIPLIER): noise needs aggregation 'dp-fedavg' (plain FedAvg has no sensitivity bound)",
      );
    });

    it('a preset not in the enum', () => {
      expect(errorOf({ file: file('p.yaml', 'preset: mimic\n') }).message).toBe(
        `invalid config field 'preset' = "mimic" (from p.yaml): must be one of "archetypes", "eicu-like", "mimic-careunit"`,
      );
    });

    it('quorum greater than the hospitals', () => {
      expect(errorOf({ flags: { quorum: '5', hospitals: '3' } }).message).toBe(
        "invalid config field 'quorum' = 5 (from --quorum): quorum 5 is more than the 3 hospitals",
      );
    });

    describe('secure aggregation over too few hospitals (issue 13, finding 6)', () => {
      it.each([
        [
          { hospitals: '2' },
          /'hospitals' = 2 \(from --hospitals\): secure aggregation needs at least 3 hospitals \(got 2\)/,
        ],
        [
          { quorum: '1' },
          /'quorum' = 1 \(from --quorum\): quorum 1 is below the secure-aggregation minimum of 3/,
        ],
        [{ hospitals: '5', quorum: '2' }, /'quorum' = 2 .*below the secure-aggregation minimum of 3/],
        [
          { hospitals: '4', secureAggregationMinHospitals: '5', noiseMultiplier: '1' },
          /needs at least 5 hospitals \(got 4\)/,
        ],
        [
          { secureAggregationMinHospitals: '2' },
          /a minimum of 2 hospitals per unmasked sum .*add hospital-level noise/,
        ],
        [
          { hospitals: '5', quorum: '3', secureAggregationThreshold: '4' },
          /threshold 4 is above the quorum 3/,
        ],
        [{ secureAggregationMinHospitals: '1' }, /'secureAggregationMinHospitals' = 1 .*must be ≥ 2/],
      ])('refuses %o with the reason and what to do', (flags, message) => {
        expect(errorOf({ flags }).message).toMatch(message);
      });

      it('accepts them with secure aggregation off, or the minimum lowered with hospital-level noise', () => {
        expect(loadTrainingConfig({ flags: { hospitals: '2', secureAggregation: 'false' } }).hospitals).toBe(
          2,
        );
        expect(loadTrainingConfig({ flags: { quorum: '1', aggregation: 'fedavg' } }).quorum).toBe(1);
        const noisy = loadTrainingConfig({
          flags: { hospitals: '2', secureAggregationMinHospitals: '2', noiseMultiplier: '1' },
        });
        expect(noisy.secureAggregationMinHospitals).toBe(2);
        expect(loadTrainingConfig({}).secureAggregationMinHospitals).toBe(3);
      });
    });

    it('several problems at once, one line each', () => {
      const message = errorOf({ flags: { rounds: '0', batchSize: '0' } }).message;
      expect(message.split('\n')).toEqual([
        'invalid configuration:',
        "  config field 'rounds' = 0 (from --rounds): must be ≥ 1",
        "  config field 'batchSize' = 0 (from --batch-size): must be ≥ 1",
      ]);
    });
  });
});
