import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { it } from 'node:test';

it('importing the readers and the S3 source loads neither exceljs, sax nor the AWS SDK', async () => {
  await import('../../src/formats/xlsx/xlsx.ts');
  await import('../../src/formats/xml/xml.ts');
  await import('../../src/formats/json/json.ts');
  await import('../../src/sources/s3.ts');
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => /[/\\](exceljs|sax|@aws-sdk)[/\\]/.test(path));
  assert.deepEqual(loaded, []);
});
