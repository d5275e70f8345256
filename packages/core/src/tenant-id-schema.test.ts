import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTenantId, tenantIdSchema } from './tenant-id-schema';

describe('tenantIdSchema', () => {
  it('takes any printable text without whitespace or braces, astral characters included', () => {
    for (const id of ['acme', 'tenant-1', 'über', 'acme😀', 'a'.repeat(128)]) {
      expect(tenantIdSchema.safeParse(id).success, id).toBe(true);
    }
  });

  it('refuses lone surrogates: they have no UTF-8 form, so two ids would share Redis keys', () => {
    // ioredis writes each of these as "acme\uFFFD".
    for (const id of ['acme\uD800', 'acme\uDBFF', '\uDC00acme']) {
      expect(tenantIdSchema.safeParse(id).success, JSON.stringify(id)).toBe(false);
    }
  });

  it('refuses empty, oversized, whitespace, control characters and braces', () => {
    for (const id of ['', 'a'.repeat(129), 'a b', 'a\tb', 'a\u0000b', 'a{b}', 42]) {
      expect(tenantIdSchema.safeParse(id).success, JSON.stringify(id)).toBe(false);
    }
  });
});

describe('isTenantId', () => {
  it('answers what tenantIdSchema answers', () => {
    const samples = ['acme', 'über', 'acme😀', 'a'.repeat(128), 'a'.repeat(129), '', 'a b', 'a{b}'];
    for (const id of [...samples, 'acme\uD800', 'a\u0000b', 42, null, undefined, {}]) {
      expect(isTenantId(id), JSON.stringify(id)).toBe(tenantIdSchema.safeParse(id).success);
    }
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 140 }), fc.anything()), (id) => {
        expect(isTenantId(id)).toBe(tenantIdSchema.safeParse(id).success);
      }),
    );
  });
});
