// Real JWTs (HS256, jose) for the transports' tests: what an app's `authenticate` verifies.
import type { Principal } from '@calltrack/core';
import { jwtVerify, SignJWT } from 'jose';

const secret = new TextEncoder().encode('dialer-test-secret-0123456789abcdef');
const issuer = 'calltrack-dialer-tests';

/** A token for a user of a tenant (`tenantId` claim, `sub` the user), valid for 10 minutes. */
export function signTestJwt(claims: { tenantId: string; userId?: string }): Promise<string> {
  const jwt = new SignJWT({ tenantId: claims.tenantId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime('10m');
  if (claims.userId !== undefined) jwt.setSubject(claims.userId);
  return jwt.sign(secret);
}

/** The app's check: the principal of a valid token, null for anything else. */
export async function verifyTestJwt(token: unknown): Promise<Principal | null> {
  if (typeof token !== 'string' || token === '') return null;
  try {
    const { payload } = await jwtVerify(token, secret, { issuer, algorithms: ['HS256'] });
    if (typeof payload.tenantId !== 'string') return null;
    return {
      tenantId: payload.tenantId,
      ...(typeof payload.sub === 'string' ? { userId: payload.sub } : {}),
    };
  } catch {
    return null;
  }
}
