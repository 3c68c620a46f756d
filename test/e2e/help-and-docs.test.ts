import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainingConfigSchema } from '../../schemas/training-config';
import { EXIT_CODES } from '../../src/cli/exit-codes';
import { CONFIG_FIELDS, flagName } from '../../src/config/training-config-loader';
import { TRAINING_SETTINGS_HELP } from '../../src/config/training-settings-help';
import { himas, REPO_ROOT } from './cli-runner';

/**
 * What a newcomer reads matches what the code does (issue 17): `himas train --help` gives every
 * flag its meaning and default, the README's settings and exit-code tables are the code's, the
 * paths the README and cohort.json point to exist.
 */
describe('help and docs tell the truth', () => {
  let cwd: string;
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-docs-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('`himas train --help` gives each flag its meaning and its default', () => {
    const result = himas(['train', '--help'], { cwd });
    expect(result.status).toBe(0);
    // Each training setting: its flag, its HIMAS_* variable, what it means and its default.
    const blocks = result.stdout.split(/\n(?= {2}--)/);
    for (const field of Object.keys(CONFIG_FIELDS)) {
      const flag = `--${flagName(field)}`;
      const block = blocks.find((b) => b.startsWith(`  ${flag} (`));
      expect(block).toBeDefined();
      const help = TRAINING_SETTINGS_HELP[field as keyof typeof TRAINING_SETTINGS_HELP];
      expect(block!.replace(/\s+/g, ' ')).toContain(`[default: ${help.defaultText}]`);
      expect(block!.replace(/\s+/g, ' ')).toContain(
        help.meaning.replace(/`/g, '').split(' ').slice(0, 3).join(' '),
      );
    }
    for (const flag of [
      '--data DIR',
      '--out RUN_DIR',
      '--force',
      '--resume RUN_ID',
      '--run-id ID',
      '--home DIR',
    ])
      expect(result.stdout).toContain(`  ${flag}\n`);
    for (const { code, meaning } of Object.values(EXIT_CODES))
      expect(result.stdout).toContain(`  ${String(code).padEnd(3)}${meaning}`);
  });

  it('the help defaults are the schema defaults', () => {
    const defaults = TrainingConfigSchema.parse({}) as Record<string, unknown>;
    for (const [field, help] of Object.entries(TRAINING_SETTINGS_HELP)) {
      const value = defaults[field];
      const first = help.defaultText.split(' ')[0];
      if (typeof value === 'number') expect([field, Number(first)]).toEqual([field, value]);
      else if (typeof value === 'string') expect([field, first]).toEqual([field, value]);
      else if (Array.isArray(value)) expect([field, first]).toEqual([field, value.join(',')]);
      else if (value === null) expect([field, help.defaultText]).toEqual([field, 'none']);
    }
  });

  it("the README's settings table is the code's, every field included (--surveillance-*, --treatment-*)", () => {
    const rows = readme
      .split('\n')
      .filter((line) => /^\| [a-zA-Z]+ \| `--/.test(line))
      .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| |\s*\|$/g, '')));
    expect(rows.map((r) => r[0])).toEqual(Object.keys(CONFIG_FIELDS));
    for (const [field, flag, defaultText, meaning] of rows) {
      const help = TRAINING_SETTINGS_HELP[field as keyof typeof TRAINING_SETTINGS_HELP];
      expect({ field, flag, defaultText, meaning }).toEqual({
        field,
        flag: `\`--${flagName(field)}\``,
        defaultText: help.defaultText,
        meaning: help.meaning,
      });
    }
  });

  it("the README's exit codes are the code's, and `himas --help` lists them", () => {
    for (const { code, meaning } of Object.values(EXIT_CODES))
      expect(readme).toContain(`| ${code} | ${meaning} |`);
    const help = himas(['--help'], { cwd });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:\n {2}0 {2}success/);
  });

  it('the README puts the aggregate releases where the embedded store keeps them', () => {
    expect(readme).toContain('`.himas/blobs/runs/<run>/releases/<hospital>/`');
    expect(readme).not.toMatch(/\(`runs\/<run>\/releases\/<hospital>\/`\)/);
  });

  it('cohort.json cites only files that are in the repository', () => {
    const generated = himas(
      ['data', 'generate', '--hospitals', '2', '--patients', '300', '--out', 'cohort'],
      { cwd },
    );
    expect(generated.status).toBe(0);
    const manifest = readFileSync(path.join(cwd, 'cohort', 'cohort.json'), 'utf8');
    const cited = manifest.match(/[\w./-]+\.(md|ts|json|yaml)\b/g) ?? [];
    expect(cited.length).toBeGreaterThan(0);
    for (const file of cited) expect([file, existsSync(path.join(REPO_ROOT, file))]).toEqual([file, true]);
  });
});
