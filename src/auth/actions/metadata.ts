import express, { type Router } from 'express';
import { metadataHandler } from '@modelcontextprotocol/sdk/server/auth/handlers/metadata.js';
import type { OAuthMetadata, OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { SUPPORTED_SCOPES } from '../constants.js';
import type { AuthUrls } from '../urls.js';

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'];

/** RFC 9728 metadata of /mcp. */
export function protectedResourceMetadata(urls: AuthUrls, authorizationServer: string): OAuthProtectedResourceMetadata {
  return {
    resource: urls.resource,
    authorization_servers: [authorizationServer],
    scopes_supported: [...SUPPORTED_SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: 'MCP everything server',
  };
}

/** RFC 8414 metadata of our authorization server. */
export function authorizationServerMetadata(urls: AuthUrls): OAuthMetadata {
  return {
    issuer: urls.issuer,
    authorization_endpoint: urls.authorize,
    token_endpoint: urls.token,
    registration_endpoint: urls.register,
    revocation_endpoint: urls.revoke,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    scopes_supported: [...SUPPORTED_SCOPES],
    // RFC 9207: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
  };
}

/**
 * The discovery documents, each through the SDK's metadataHandler (GET, CORS
 * for any origin, 405 otherwise). Not the SDK's mcpAuthMetadataRouter: it
 * cannot add fields (RFC 9207's flag, client_secret_basic, bearer methods) and
 * serves the resource metadata only at the path form, where the issue asks for
 * the root form as well (same document: /mcp is this origin's only resource).
 */
export function metadataRouter(urls: AuthUrls, resource: OAuthProtectedResourceMetadata, server?: OAuthMetadata): Router {
  const router = express.Router();
  const resourceHandler = metadataHandler(resource);
  router.use(urls.resourceMetadataPath, resourceHandler);
  router.use('/.well-known/oauth-protected-resource', resourceHandler);
  if (server) router.use('/.well-known/oauth-authorization-server', metadataHandler(server));
  return router;
}
