import { connectTestPostgres } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { fitsPostgresType } from './fits-postgres-type';

const pool = await connectTestPostgres({ max: 1 });

afterAll(async () => {
  await pool?.end();
});

describe.skipIf(!pool)('fitsPostgresType', () => {
  it('answers as PostgreSQL reads text into smallint, integer, bigint and uuid', async () => {
    const values = [
      '42',
      ' 42 ',
      '+42',
      '-42',
      '\t7\n',
      '\u00a042',
      '32767',
      '32768',
      '-2147483648',
      '2147483648',
      '9223372036854775807',
      '9223372036854775808',
      '-9223372036854775808',
      '4_2',
      '0x1F',
      '1e3',
      '42.0',
      '',
      'lead-1',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
      'a0eebc999c0b4ef8bb6d6bb9bd380a11',
      'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11',
      ' a0eebc999c0b4ef8bb6d6bb9bd380a11',
      '{a0eebc999c0b4ef8bb6d6bb9bd380a11',
      'a0eebc99--9c0b4ef8bb6d6bb9bd380a11',
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1',
      'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    ];
    for (const type of ['smallint', 'integer', 'bigint', 'uuid']) {
      for (const value of values) {
        const read = await pool!.query(`SELECT $1::text::${type}`, [value]).then(
          () => true,
          () => false,
        );
        expect([type, value, fitsPostgresType(value, type)]).toEqual([type, value, read]);
      }
    }
    // Types it does not know are left to PostgreSQL.
    expect(fitsPostgresType('anything', 'character varying(8)')).toBe(true);
  });
});
