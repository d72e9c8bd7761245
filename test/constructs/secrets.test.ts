import { describeSecret, findSecrets, isSecretFieldName } from '../../src/shared/secrets';

describe('describeSecret', () => {
  test.each([
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE', /AWS access key id/],
    ['an AWS secret access key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', /AWS secret access key/],
    ['a private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIE...', /private key/],
    ['an OpenSSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----', /private key/],
    ['a GitHub token', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', /GitHub token/],
    ['a Slack token', 'xoxb-1234567890-abcdefghij', /Slack token/],
    ['a Secrets Manager dynamic reference', '{{resolve:secretsmanager:prod/db:SecretString:password}}', /Secrets Manager/],
    ['an SSM SecureString dynamic reference', '{{resolve:ssm-secure:/prod/db/password:1}}', /SSM SecureString/],
  ])('recognizes %s', (_name, text, reason) => {
    expect(describeSecret(text)).toMatch(reason);
  });

  test.each([
    ['a git commit id', '0123456789abcdef0123456789abcdef01234567'],
    ['a plain word', 'production'],
    ['a URL', 'https://example.com/health'],
    ['a public key', '-----BEGIN PUBLIC KEY-----'],
    ['an SSM parameter reference', '{{resolve:ssm:/prod/db/host}}'],
    ['a 41-character base64 run', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYx'],
  ])('does not flag %s', (_name, text) => {
    expect(describeSecret(text)).toBeUndefined();
  });
});

describe('isSecretFieldName', () => {
  test.each(['password', 'dbPassword', 'DB_PASSWORD', 'api_key', 'apiKey', 'GITHUB_TOKEN', 'clientSecret', 'private-key'])(
    '%s names a secret',
    (name) => {
      expect(isSecretFieldName(name)).toBe(true);
    },
  );

  test.each(['secretArn', 'secretName', 'tokenUrl', 'environment', 'passwordPolicy'])('%s does not name a secret', (name) => {
    expect(isSecretFieldName(name)).toBe(false);
  });
});

describe('findSecrets', () => {
  test('names the path of each finding', () => {
    const findings = findSecrets({ 'db': { password: 'hunter2' }, 'keys': ['x', 'AKIAIOSFODNN7EXAMPLE'], 'odd key': { token: 'abc' } });
    expect(findings.map((f) => f.path)).toEqual(['db.password', 'keys[1]', '["odd key"].token']);
  });

  test('skips references: ARNs, pipeline variables and unresolved values', () => {
    const findings = findSecrets(
      { password: '#{Vault.Password}', token: 'arn:aws:secretsmanager:eu-west-1:1:secret:x', apiKey: '${Token[TOKEN.1]}' },
      { isUnresolved: (v) => v.startsWith('${Token[') },
    );
    expect(findings).toEqual([]);
  });

  test('an empty secret field is not a finding', () => {
    expect(findSecrets({ password: '' })).toEqual([]);
  });

  test('a plain string is checked at the root', () => {
    expect(findSecrets('AKIAIOSFODNN7EXAMPLE')).toEqual([{ path: '', reason: 'looks like an AWS access key id' }]);
  });
});
