import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { updateReadme } from '../../scripts/update-docs.ts';
import { ROOT } from '../helpers.ts';

describe('README', () => {
  it('starts with the two quick-start commands', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1]?.trim().split('\n');
    assert.deepEqual(block, ['npm install && npx atlas import examples/customers.csv', 'npm test']);
  });

  it('holds the command reference generated from --help (run `npm run docs` after changing flags)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.equal(updateReadme(readme), readme);
  });
});
