import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectOneLineError, himas } from './cli-runner';

/** `--stack gcp` and its flags: bad input is one line and exit 2, before any cloud call. */
describe('himas train/status --stack gcp: flags', () => {
  let cwd: string;
  beforeAll(() => {
    cwd = mkdtempSync(path.join(os.tmpdir(), 'himas-cloud-flags-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
  const env = { GOOGLE_CLOUD_PROJECT: '' };

  it('needs the project and the region of the deployment', () => {
    const noProject = himas(['train', '--stack', 'gcp', '--rounds', '2'], { cwd, env });
    expectOneLineError(noProject, /`himas train --stack gcp` needs --project PROJECT/);
    expect(noProject.status).toBe(2);
    const noRegion = himas(['status', '--stack', 'gcp', '--project', 'my-himas-1'], { cwd, env });
    expectOneLineError(noRegion, /`himas status --stack gcp` needs --region REGION/);
    expect(noRegion.status).toBe(2);
    const badProject = himas(
      ['train', '--stack', 'gcp', '--project', 'My_Project', '--region', 'europe-west4'],
      { cwd, env },
    );
    expectOneLineError(badProject, /--project 'My_Project' is not a project id/);
  });

  it('refuses the local stack flags with --stack gcp, and the cloud flags without it', () => {
    const data = himas(
      ['train', '--stack', 'gcp', '--project', 'my-himas-1', '--region', 'europe-west4', '--data', 'x'],
      { cwd, env },
    );
    expectOneLineError(data, /--data does not apply to --stack gcp/);
    expect(data.status).toBe(2);
    const project = himas(['train', '--project', 'my-himas-1'], { cwd, env });
    expectOneLineError(project, /--project names a Google Cloud deployment: it needs --stack gcp/);
    expect(project.status).toBe(2);
  });
});
