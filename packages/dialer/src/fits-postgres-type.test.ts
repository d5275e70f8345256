import { connectTestPostgres, dropTables, uniqueTableName } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { fitsPostgresType } from './fits-postgres-type';

const pool = await connectTestPostgres({ max: 1 });

afterAll(async () => {
  await pool?.end();
});

/**
 * Stores each value in a column of each type as addLeads writes it (cast without the modifier,
 * assigned to the column) and reads it back as text: `fitsPostgresType` must say yes exactly when
 * PostgreSQL stores the value and prints it back unchanged.
 *
 * The tries run in PostgreSQL, one call per type: a round trip per value (three statements each,
 * about 1,500 in all) took a second on an idle machine and neared the 5 s timeout under load.
 * Values go as UTF-8 bytes and become text inside the try, as a text parameter would be read:
 * a NUL fails there (a parameter with one is refused whole), a lone surrogate arrives as U+FFFD.
 */
async function expectFitsAsPostgresStores(
  types: readonly [type: string, castType: string][],
  values: readonly string[],
): Promise<void> {
  const fits = uniqueTableName('fits');
  const client = await pool!.connect();
  await client.query(`CREATE TABLE ${fits} (v text)`);
  try {
    await client.query(`
      CREATE FUNCTION pg_temp.${fits}_store(cast_type text, vals bytea[])
      RETURNS TABLE (stored boolean, printed text) LANGUAGE plpgsql AS $$
      DECLARE raw bytea;
      BEGIN
        FOREACH raw IN ARRAY vals LOOP
          BEGIN
            DELETE FROM ${fits};
            EXECUTE format('INSERT INTO ${fits} (v) SELECT $1::text::%s', cast_type)
              USING convert_from(raw, 'UTF8');
            stored := true;
            SELECT v::text INTO printed FROM ${fits};
          EXCEPTION WHEN others THEN
            stored := false;
            printed := NULL;
          END;
          RETURN NEXT;
        END LOOP;
      END $$`);
    const encoded = values.map((value) => Buffer.from(value, 'utf8'));
    for (const [type, castType] of types) {
      await client.query(`ALTER TABLE ${fits} ALTER COLUMN v TYPE ${type} USING NULL`);
      const { rows } = await client.query(`SELECT * FROM pg_temp.${fits}_store($1, $2)`, [
        castType,
        encoded,
      ]);
      expect(rows).toHaveLength(values.length);
      for (const [index, value] of values.entries()) {
        const { stored, printed } = rows[index] as { stored: boolean; printed: string | null };
        // Unconstrained numeric prints 0.50 as given, but 0.5 is the same value: one spelling.
        const oneSpelling = type !== 'numeric' || !/\.[0-9]*0$/.test(value);
        const expected = stored && printed === value && oneSpelling;
        expect([type, value, fitsPostgresType(value, type)]).toEqual([type, value, expected]);
      }
    }
  } finally {
    client.release();
    await dropTables(pool!, [fits]);
  }
}

describe.skipIf(!pool)('fitsPostgresType', () => {
  it('accepts exactly what PostgreSQL stores in a column of the type and prints back unchanged', async () => {
    const values = [
      '42',
      ' 42 ',
      '+42',
      '-42',
      '042',
      '0',
      '-0',
      '00',
      '\t7\n',
      '\u00a042',
      '32767',
      '32768',
      '-32768',
      '-2147483648',
      '2147483648',
      '9223372036854775807',
      '9223372036854775808',
      '-9223372036854775808',
      '-9223372036854775809',
      '4_2',
      '0x1F',
      '1e3',
      '42.0',
      '42.00',
      '42.5',
      '-0.5',
      '0.50',
      '-0.00',
      '123.45',
      '1234.5',
      '.5',
      '5.',
      'NaN',
      'Infinity',
      '-Infinity',
      '',
      'lead-1',
      'lead-😀',
      'a\u0000',
      '\ud800',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
      'a0eebc999c0b4ef8bb6d6bb9bd380a11',
      'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11',
      ' a0eebc999c0b4ef8bb6d6bb9bd380a11',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1',
      'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    ];
    const types: [type: string, castType: string][] = [
      ['smallint', 'smallint'],
      ['integer', 'integer'],
      ['bigint', 'bigint'],
      ['uuid', 'uuid'],
      ['numeric', 'numeric'],
      ['numeric(5,2)', 'numeric'],
      ['numeric(4)', 'numeric'],
      ['character varying(4)', 'character varying'],
      ['character varying', 'character varying'],
      ['text', 'text'],
    ];
    await expectFitsAsPostgresStores(types, values);
  });

  it('accepts a blank-padded (character) value only without trailing spaces: PostgreSQL prints `ab ` as `ab`', async () => {
    await expectFitsAsPostgresStores(
      [
        ['character(4)', 'bpchar'],
        ['bpchar', 'bpchar'],
        ['character varying(4)', 'character varying'],
        ['text', 'text'],
      ],
      [
        'ab',
        'ab ',
        'ab   ',
        ' ab',
        ' 42 ',
        'abcd',
        'abcde',
        'abcd ',
        '',
        ' ',
        '\t7\n',
        'a\u0000',
        '\ud800',
      ],
    );
  });

  it('checks the length of a character(n) value in characters, and leaves other types to PostgreSQL', () => {
    expect(fitsPostgresType('abcd', 'character(4)')).toBe(true);
    expect(fitsPostgresType('abcde', 'character(4)')).toBe(false);
    expect(fitsPostgresType('ab😀d', 'character varying(4)')).toBe(true);
    expect(fitsPostgresType('anything', 'citext')).toBe(true);
    expect(fitsPostgresType('any\u0000thing', 'citext')).toBe(false);
  });
});
