import * as fc from 'fast-check';
import { substituteVariables } from '../../src/local/job-event';
import { ANY_VARIABLE_REFERENCE, VARIABLE_REFERENCE_PARTS } from '../../src/shared/variable-references';

const matches = (pattern: RegExp, text: string) => [...text.matchAll(pattern)].map((m) => m[0]);

describe('ANY_VARIABLE_REFERENCE', () => {
  test('matches every #{...} in a text, the documented namespaces among them', () => {
    const text = 'run #{codepipeline.PipelineExecutionId} on #{variables.branch} at #{Build.Url}';
    expect(matches(ANY_VARIABLE_REFERENCE, text)).toEqual(['#{codepipeline.PipelineExecutionId}', '#{variables.branch}', '#{Build.Url}']);
  });

  test('matches a reference whose parts CodePipeline would not accept, so that synth never counts it as literal text', () => {
    expect(matches(ANY_VARIABLE_REFERENCE, 'x #{no dot here} y')).toEqual(['#{no dot here}']);
  });
});

describe('VARIABLE_REFERENCE_PARTS', () => {
  test('captures the namespace and the variable name', () => {
    const [match] = 'url=#{Deploy-1.api_url@v2}'.matchAll(VARIABLE_REFERENCE_PARTS);
    expect([match[1], match[2]]).toEqual(['Deploy-1', 'api_url@v2']);
  });

  test('does not match text without a namespace or with characters outside the API model\'s', () => {
    expect(matches(VARIABLE_REFERENCE_PARTS, '#{noDot} #{a b.c} #{a.b c} #{.x} #{x.}')).toEqual([]);
  });

  test('every well-formed reference is also one the synth-side pattern sees', () => {
    const part = fc.stringMatching(/^[A-Za-z0-9@\-_]{1,12}$/);
    fc.assert(
      fc.property(part, part, fc.string(), (namespace, name, around) => {
        const text = `${around}#{${namespace}.${name}}${around}`;
        const strict = matches(VARIABLE_REFERENCE_PARTS, text);
        expect(strict).toContain(`#{${namespace}.${name}}`);
        expect(new RegExp(ANY_VARIABLE_REFERENCE.source).test(text)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test('the local runner substitutes with it as CodePipeline does: textually, unknown references kept', () => {
    expect(substituteVariables('{"v":"#{A.b}","w":"#{A.c}"}', { 'A.b': 'say "hi"' })).toEqual({
      text: '{"v":"say "hi"","w":"#{A.c}"}',
      unresolved: ['#{A.c}'],
    });
  });
});
