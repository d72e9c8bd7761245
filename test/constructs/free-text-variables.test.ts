/**
 * UserParameters.fromObject warns at synth when a free-text variable (a commit message...) sits inside a JSON string,
 * where CodePipeline's textual substitution can break the JSON (aws-cdk #31213). The warning names the construct path
 * (an annotation on the stage) and the field.
 */
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codepipeline_actions from 'aws-cdk-lib/aws-codepipeline-actions';
import { inlineCode, newStack, PipelineFixture, stackWithPipeline } from './helpers';
import { LambdaInvokeStage, UserParameters } from '../../src';

const WARNING = /userParameters\.release\.notes places the variable CommitMessage \(free text\) inside a JSON string.*aws-cdk #31213.*through an artifact/;

function addStage(fixture: PipelineFixture, userParameters: UserParameters): void {
  new LambdaInvokeStage(fixture.stack, 'Deploy', { pipeline: fixture.pipeline, stageName: 'Deploy', code: inlineCode, handler: 'index.handler', userParameters });
}

function warnings(fixture: PipelineFixture) {
  return Annotations.fromStack(fixture.stack).findWarning('/Stack/Deploy', Match.stringLikeRegexp('free text'));
}

test('a commit message reference inside a JSON string warns, naming the construct path and the field', () => {
  const fixture = stackWithPipeline();
  addStage(fixture, UserParameters.fromObject({ release: { notes: 'Built from #{SourceVariables.CommitMessage}' } }));
  Annotations.fromStack(fixture.stack).hasWarning('/Stack/Deploy', Match.stringLikeRegexp(WARNING.source));
});

test("a source action's own variables.commitMessage (a generated namespace) warns too", () => {
  const stack = newStack();
  const source = new codepipeline_actions.CodeStarConnectionsSourceAction({
    actionName: 'GitHub',
    connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/abc',
    owner: 'o',
    repo: 'r',
    output: new codepipeline.Artifact('Repo'),
  });
  const pipeline = new codepipeline.Pipeline(stack, 'GitHubPipeline', { stages: [{ stageName: 'Repo', actions: [source] }] });
  const fixture = { stack, pipeline, source: new codepipeline.Artifact('Repo') };
  addStage(fixture, UserParameters.fromObject({ release: { notes: source.variables.commitMessage } }));
  Annotations.fromStack(fixture.stack).hasWarning('/Stack/Deploy', Match.stringLikeRegexp(WARNING.source));
});

test('a pull request title style variable in an array element warns with the element path', () => {
  const fixture = stackWithPipeline();
  addStage(fixture, UserParameters.fromObject({ lines: ['ok', '#{variables.PullRequestTitle}'] }));
  Annotations.fromStack(fixture.stack).hasWarning('/Stack/Deploy', Match.stringLikeRegexp('userParameters\\.lines\\[1\\] places the variable PullRequestTitle'));
});

test('variables that carry no free text (a commit id, a branch name) do not warn', () => {
  const fixture = stackWithPipeline();
  addStage(fixture, UserParameters.fromObject({ commit: '#{SourceVariables.CommitId}', branch: '#{SourceVariables.BranchName}' }));
  expect(warnings(fixture)).toEqual([]);
});

test('the commit message as the whole UserParameters string (fromString) does not warn: nothing JSON to break', () => {
  const fixture = stackWithPipeline();
  addStage(fixture, UserParameters.fromString('#{SourceVariables.CommitMessage}'));
  expect(warnings(fixture)).toEqual([]);
});
