import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError, redactSecrets } from '../src/errors.ts';

describe('redactSecrets', () => {
  it('hides the password of a connection URL, whatever it holds', () => {
    assert.equal(redactSecrets('postgresql://atlas:s3cret@db:5432/x'), 'postgresql://atlas:***@db:5432/x');
    assert.equal(redactSecrets("unknown option '--databse-url=postgres://u:p%40ss@h/db'"), "unknown option '--databse-url=postgres://u:***@h/db'");
    // An unencoded @ in the password: nothing of it is left showing.
    assert.equal(redactSecrets('postgres://u:pa@ss@h/db'), 'postgres://u:***@h/db');
    assert.equal(redactSecrets('postgres://u:pa/ss@h/db'), 'postgres://u:***@h/db');
    assert.equal(redactSecrets('two: postgres://a:one@h1/x and postgres://b:two@h2/y'), 'two: postgres://a:***@h1/x and postgres://b:***@h2/y');
    assert.equal(redactSecrets('http://key:secret@s3.local:9000'), 'http://key:***@s3.local:9000');
  });

  it('hides password= parameters, in a URL or a key=value string', () => {
    assert.equal(redactSecrets('postgresql://h/db?user=u&password=s3cret&sslmode=disable'), 'postgresql://h/db?user=u&password=***&sslmode=disable');
    assert.equal(redactSecrets("host=h password='s3 cret' user=u"), 'host=h password=*** user=u');
    assert.equal(redactSecrets('sslpassword=abc'), 'sslpassword=***');
  });

  it('leaves text without credentials alone', () => {
    for (const text of ['postgresql://h:5432/db', 'postgres://user@h/db', 'file /tmp/a:b@c.csv', 's3://bucket/key']) assert.equal(redactSecrets(text), text);
  });

  it('is applied by describeError', () => {
    assert.equal(describeError(new Error('cannot reach postgres://u:pw@h/db')), 'cannot reach postgres://u:***@h/db');
  });
});
