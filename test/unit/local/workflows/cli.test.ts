import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../../..');
const himas = (args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'bin/himas.js'), ...args], { cwd: ROOT, encoding: 'utf8' });

describe('himas workflows (CLI)', () => {
  let dir: string;
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'himas-wf-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('run prints only the result as JSON, with --data and --env', () => {
    const file = write(
      'ok.yaml',
      'main:\n  params: [args]\n  steps:\n    - r:\n        return: ${[args.n * 2, sys.get_env("WHO"), 7 // 2]}\n',
    );
    const r = himas(['workflows', 'run', file, '--data', '{"n": 21}', '--env', 'WHO=ada']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([42, 'ada', 3]);
  });

  it('run prints a workflow error on stderr with exit code 1 and names the step', () => {
    const file = write('err.yaml', '- a:\n    assign:\n      - m: {}\n- boom:\n    return: ${m.missing}\n');
    const r = himas(['workflows', 'run', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const [first, second] = r.stderr.trim().split('\n');
    expect(JSON.parse(first)).toMatchObject({ tags: ['KeyError'] });
    expect(second).toMatch(/step 'boom'/);
  });

  it('validate says ok, or lists the problems with exit code 1', () => {
    expect(himas(['workflows', 'validate', write('v.yaml', '- r:\n    return: 1\n')])).toMatchObject({
      status: 0,
    });
    const bad = himas(['workflows', 'validate', write('bad.yaml', '- r:\n    next: nowhere\n')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.yaml:2: step 'r': next: unknown step 'nowhere'/);
  });

  it('binds http.* to loopback addresses only', async () => {
    const server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hello: 'world' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const file = write(
      'http.yaml',
      `- get:\n    call: http.get\n    args:\n      url: http://127.0.0.1:${port}/x\n    result: r\n- ret:\n    return: \${r.body.hello}\n`,
    );
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/himas.js'), 'workflows', 'run', file], {
      cwd: ROOT,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    server.close();
    expect(code).toBe(0);
    expect(JSON.parse(out)).toBe('world');
    const remote = write(
      'remote.yaml',
      '- get:\n    call: http.get\n    args:\n      url: https://example.com/\n',
    );
    const r = himas(['workflows', 'run', remote]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not a loopback address/);
  });

  // https://cloud.google.com/workflows/docs/reference/syntax/retrying: a custom predicate reads e.code.
  it('--http-route sends a host to a local stand-in, whose HttpError codes custom retry predicates read', async () => {
    let calls = 0;
    const server = http.createServer((_req, res) => {
      calls++;
      res.statusCode = calls <= 2 ? 500 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ calls }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const file = write(
      'route.yaml',
      [
        'main:',
        '  steps:',
        '    - read:',
        '        try:',
        '          call: http.get',
        '          args:',
        '            url: https://host.example/api',
        '          result: r',
        '        retry:',
        '          predicate: ${on500}',
        '          max_retries: 3',
        '          backoff: {initial_delay: 0.01, max_delay: 1, multiplier: 1.5}',
        '    - done:',
        '        return: ${r.body}',
        'on500:',
        '  params: [e]',
        '  steps:',
        '    - decide:',
        '        return: ${e.code == 500}',
        '',
      ].join('\n'),
    );
    const { spawn } = await import('node:child_process');
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin/himas.js'),
        'workflows',
        'run',
        file,
        '--http-route',
        `host.example=http://127.0.0.1:${port}`,
      ],
      { cwd: ROOT },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    server.close();
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ calls: 3 });
  });

  it('a non-loopback call ends the run at once: neither a retry policy nor except sees it', () => {
    const file = write(
      'remote-caught.yaml',
      [
        '- read:',
        '    try:',
        '      call: http.get',
        '      args: {url: "https://example.com/x"}',
        '    retry: ${http.default_retry}',
        '    except:',
        '      as: e',
        '      steps:',
        '        - swallowed:',
        '            return: caught',
        '',
      ].join('\n'),
    );
    const r = himas(['workflows', 'run', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr.split('\n')[0])).toMatchObject({ tags: ['LocalEnvironmentError'] });
    expect(r.stderr).toMatch(/--http-route example\.com=http:\/\/127\.0\.0\.1:PORT/);
    expect(r.stderr).toMatch(/step 'read'/);
  });

  it('refuses federated-training.yaml before any step runs and says to use himas train', () => {
    const r = himas(['workflows', 'run', 'workflows/federated-training.yaml']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/googleapis\.run\.v2\.projects\.locations\.jobs\.run/);
    expect(lines[0]).toMatch(/run `himas train` instead/);
  });

  it('--allow-unbound runs until the first unbound connector, which ends the run', () => {
    const file = write(
      'connector.yaml',
      '- first:\n    assign:\n      - x: 1\n- publish:\n    call: googleapis.pubsub.v1.projects.topics.publish\n    args: {topic: t}\n',
    );
    expect(himas(['workflows', 'run', file]).status).toBe(2);
    const r = himas(['workflows', 'run', file, '--allow-unbound']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stderr.split('\n')[0])).toMatchObject({ tags: ['LocalEnvironmentError'] });
    expect(r.stderr).toMatch(/step 'publish'/);
  });

  it('prints integers beyond 2^53 exactly and gives the built-in variables local defaults', () => {
    const file = write(
      'big.yaml',
      '- r:\n    return:\n      - ${9007199254740993}\n      - ${sys.get_env("GOOGLE_CLOUD_PROJECT_ID")}\n      - ${sys.get_env("GOOGLE_CLOUD_WORKFLOW_ID")}\n',
    );
    const r = himas(['workflows', 'run', file, '--env', 'GOOGLE_CLOUD_PROJECT_ID=my-proj']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('[9007199254740993,"my-proj","big"]');
  });
});
