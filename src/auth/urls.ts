import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { Config } from '../config.js';

/** The public URLs of the resource and (AUTH_MODE=internal) of the authorization server. */
export interface AuthUrls {
  /** RFC 8414 issuer: BASE_URI without a trailing slash; also the RFC 9207 `iss`. */
  issuer: string;
  /** RFC 8707 resource indicator of /mcp: the audience every token must carry. */
  resource: string;
  /** RFC 9728 metadata of the resource, named in every 401 challenge. */
  resourceMetadata: string;
  /** Path of the metadata document on this server (`/.well-known/oauth-protected-resource/mcp`). */
  resourceMetadataPath: string;
  authorize: string;
  token: string;
  register: string;
  revoke: string;
}

export function authUrls(config: Config): AuthUrls {
  const issuer = config.baseUri;
  const resource = `${issuer}/mcp`;
  const resourceMetadata = getOAuthProtectedResourceMetadataUrl(new URL(resource));
  return {
    issuer,
    resource,
    resourceMetadata,
    resourceMetadataPath: new URL(resourceMetadata).pathname,
    authorize: `${issuer}/authorize`,
    token: `${issuer}/token`,
    register: `${issuer}/register`,
    revoke: `${issuer}/revoke`,
  };
}
