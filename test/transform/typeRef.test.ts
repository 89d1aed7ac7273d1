import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atlasTypeRef, catalogTypeRef, type CatalogType } from '../../src/transform/typeRef.ts';

const builtin = (name: string, typmod: number, oid = 1700): CatalogType => ({ oid, typmod, schema: 'pg_catalog', name, element: null });

describe('catalogTypeRef: an existing column\'s type as SQL, from the catalog\'s parts', () => {
  it('writes a built-in type\'s modifier back from its number', () => {
    const cases: Array<[string, number, string]> = [
      ['varchar', 12, '"pg_catalog"."varchar"(8)'],
      ['bpchar', 7, '"pg_catalog"."bpchar"(3)'],
      ['numeric', ((10 << 16) | 2) + 4, '"pg_catalog"."numeric"(10, 2)'],
      ['numeric', 198659, '"pg_catalog"."numeric"(3, -1)'],
      ['bit', 4, '"pg_catalog"."bit"(4)'],
      ['timestamptz', 2, '"pg_catalog"."timestamptz"(2)'],
      ['interval', 2147418114, '"pg_catalog"."interval"(32767, 2)'],
      ['interval', 458751, '"pg_catalog"."interval"(6)'],
      ['interval', 470286339, '"pg_catalog"."interval"(7176, 3)'],
    ];
    for (const [name, typmod, sql] of cases) {
      const t = builtin(name, typmod);
      const ref = catalogTypeRef({ type: t, base: t, baseName: name });
      assert.equal(ref.sql, sql);
      assert.equal(ref.lossy?.modified, sql);
      assert.equal(ref.lossy?.unconstrained, `"pg_catalog"."${name}"`);
      assert.equal(ref.lossy?.domain, false);
    }
  });

  it("atlas's own types without a modifier keep atlas's own names; other types carry no lossy modifier", () => {
    assert.deepEqual(catalogTypeRef({ type: builtin('int4', -1, 23), base: builtin('int4', -1, 23), baseName: 'integer' }), atlasTypeRef('integer'));
    const json = builtin('json', -1, 114);
    assert.equal(catalogTypeRef({ type: json, base: json, baseName: 'json' }).sql, '"pg_catalog"."json"');
    assert.equal(catalogTypeRef({ type: json, base: json, baseName: 'json' }).lossy, null);
    const geometry: CatalogType = { oid: 99999, typmod: 1107460, schema: 'public', name: 'geometry', element: null };
    const ref = catalogTypeRef({ type: geometry, base: geometry, baseName: 'geometry' });
    assert.equal(ref.sql, '"public"."geometry"', "another type's modifier is left to the INSERT");
    assert.equal(ref.base, null);
  });

  it('quotes hostile names as identifiers; names for the server come from numbers only', () => {
    const domain: CatalogType = { oid: 16384, typmod: -1, schema: 'we"ird', name: "a'||pwn()||'", element: null };
    const ref = catalogTypeRef({ type: domain, base: builtin('numeric', ((10 << 16) | 2) + 4), baseName: 'numeric' });
    assert.equal(ref.sql, `"we""ird"."a'||pwn()||'"`);
    assert.equal(ref.nameSql, '(select format_type(16384, -1))');
    assert.equal(ref.targetTypeSql, '(select format_type(16384, -1))');
    assert.equal(ref.base, 'numeric');
    assert.equal(ref.lossy?.domain, true);
    assert.equal(ref.lossy?.modified, '"pg_catalog"."numeric"(10, 2)');
    assert.deepEqual(ref.lossy?.numeric, { precision: 10, scale: 2 });
    assert.throws(() => catalogTypeRef({ type: { ...domain, oid: '1); drop table x; --' as unknown as number }, base: domain, baseName: 'x' }), /not an integer/);
  });

  it('reads bit and char strings without a modifier under their unbounded names (SQL takes "bit" as bit(1))', () => {
    const bitArray: CatalogType = { oid: 1561, typmod: 4, schema: 'pg_catalog', name: '_bit', element: { schema: 'pg_catalog', name: 'bit' } };
    const ref = catalogTypeRef({ type: bitArray, base: bitArray, baseName: 'bit[]' });
    assert.equal(ref.sql, '"pg_catalog"."_bit"(4)');
    assert.equal(ref.lossy?.unconstrainedName, "'bit varying[]'");
    assert.equal(ref.lossy?.array, true);
    const bpchar = builtin('bpchar', 7, 1042);
    assert.equal(catalogTypeRef({ type: bpchar, base: bpchar, baseName: 'character' }).lossy?.anyText, true);
  });
});
