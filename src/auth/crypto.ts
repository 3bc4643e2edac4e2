import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Secrets we hand out (tokens, codes, client secrets, request ids) are 256 random
 * bits; the store keeps only their SHA-256. A prefix names the kind, so a leaked
 * value is recognisable (and secret scanners can match it).
 */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** A non-secret identifier (token ids, grant ids): 128 random bits, hex. */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

/** SHA-256, hex: how every secret is stored and looked up. */
export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length > 0 && x.length === y.length && timingSafeEqual(x, y);
}
