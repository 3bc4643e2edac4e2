import { z } from 'zod';

/**
 * What an access token and a refresh token each record: the grant (token family)
 * they belong to, who and what for. They differ in lifetime and in what is done
 * with them, not in shape.
 */
export const GrantTokenSchema = z.object({
  tokenId: z.string(),
  grantId: z.string(),
  clientId: z.string(),
  userId: z.string(),
  scopes: z.array(z.string()),
  /** RFC 8707 audience. */
  resource: z.string(),
  issuedAt: z.number().int(),
  expiresAt: z.number().int(),
});
