import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadWorkflow, validateWorkflowSource, WorkflowSyntaxError } from '../../../../src/local/workflows';

const messages = (source: string) => validateWorkflowSource(source, 'wf.yaml').map((i) => ({ ...i }));

describe('workflow validation', () => {
  // validate must accept what run accepts: every conformance workflow (positional args, ${} in
  // flow collections, fractional backoff...) validates against the schema and the deploy checks.
  it('accepts every workflow of the conformance suite', () => {
    const dir = path.join(__dirname, 'conformance');
    const rejected = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => validateWorkflowSource(fs.readFileSync(path.join(dir, f), 'utf8'), f));
    expect(rejected).toEqual([]);
  });

  it('still rejects a call to a standard-library module function that does not exist', () => {
    expect(messages('- a:\n    call: text.nope\n    args: {source: x}\n')[0].message).toMatch(
      /'text\.nope' is not in the standard library/,
    );
  });

  it('reports bad YAML with the file and line', () => {
    const issues = messages('main:\n  steps:\n    - a:\n        assign: [\n');
    expect(issues[0]).toMatchObject({ file: 'wf.yaml', line: 5 });
    expect(issues[0].message).toMatch(/invalid YAML/);
  });

  it('names the step with an unknown next target', () => {
    const issues = messages('- a:\n    next: nowhere\n- b:\n    return: 1\n');
    expect(issues).toContainEqual(
      expect.objectContaining({ step: 'a', line: 2, message: "next: unknown step 'nowhere'" }),
    );
  });

  it('rejects break outside a loop', () => {
    expect(messages('- a:\n    next: break\n')[0].message).toMatch(/only allowed inside a for loop/);
  });

  it('names the step with a bad expression', () => {
    const issues = messages('- calc:\n    assign:\n      - x: ${1 +}\n- r:\n    return: ${x}\n');
    expect(issues[0]).toMatchObject({ step: 'calc', line: 2 });
    expect(issues[0].message).toMatch(/bad expression '\$\{1 \+\}'/);
  });

  it('rejects calls to undefined subworkflows, in call steps and expressions', () => {
    const issues = messages('- c:\n    call: nothere\n- r:\n    return: ${alsoMissing(1)}\n');
    expect(issues.map((i) => i.step)).toEqual(['c', 'r']);
  });

  it('rejects assignments to non-shared variables inside parallel', () => {
    const source = `
- init:
    assign:
      - input: 1
      - out: 0
- par:
    parallel:
      shared: [out]
      branches:
        - a:
            steps:
              - ok:
                  assign:
                    - out: 2
                    - local: 3
        - b:
            steps:
              - bad:
                  assign:
                    - input: 5
`;
    const issues = messages(source);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ step: 'bad' });
    expect(issues[0].message).toMatch(
      /'input' is assigned inside a parallel step but is not listed in 'shared'/,
    );
  });

  it('checks the official JSON schema', () => {
    const issues = messages('- a:\n    assign:\n      - x: 1\n    colour: blue\n');
    expect(issues.some((i) => /unknown keyword 'colour'/.test(i.message))).toBe(true);
    expect(
      messages('main:\n  steps:\n    - a:\n        for:\n          value: v\n          in: [1]\n').some(
        (i) => i.message.startsWith('schema:') || /steps/.test(i.message),
      ),
    ).toBe(true);
  });

  it('loadWorkflow throws every problem at once', () => {
    expect(() => loadWorkflow('- a:\n    next: x\n- b:\n    next: y\n', 'f.yaml')).toThrow(
      WorkflowSyntaxError,
    );
    try {
      loadWorkflow('- a:\n    next: x\n- b:\n    next: y\n', 'f.yaml');
    } catch (e) {
      expect((e as WorkflowSyntaxError).issues).toHaveLength(2);
    }
  });

  it('accepts every conformance workflow', () => {
    const dir = path.join(__dirname, 'conformance');
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
      const issues = validateWorkflowSource(fs.readFileSync(path.join(dir, f), 'utf8'), f);
      expect(issues).toEqual([]);
    }
  });
});
