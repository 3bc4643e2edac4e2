import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  type ListResourceTemplatesResult,
  type ListResourcesResult,
  type ReadResourceResult,
} from '@modelcontextprotocol/sdk/types.js';
import { resourceNotFound } from '../errors.js';
import { findResource } from './catalog.js';
import { FIXTURE_TEMPLATE } from './conformance-resources.js';
import { paginate } from './pagination.js';
import { STATIC_RESOURCE_TEMPLATE, STATIC_RESOURCES } from './static-resources.js';

export const RESOURCE_PAGE_SIZE = 10;

export const TEMPLATES_RESULT: ListResourceTemplatesResult = Object.freeze({
  resourceTemplates: [STATIC_RESOURCE_TEMPLATE, FIXTURE_TEMPLATE],
});

/**
 * resources/list, resources/templates/list and resources/read; stateless, so shared handlers suffice.
 *
 * resources/list is the upstream-compatible catalogue: exactly the 100 static
 * resources, 10 per page. The conformance fixtures (test://static-text,
 * test://static-binary, test://watched-resource) are readable and subscribable
 * but not listed, so that catalogue keeps its shape; docs/features.md lists them.
 */
export function registerResourceHandlers(server: Server): void {
  server.setRequestHandler(ListResourcesRequestSchema, (request) => listResources(request.params?.cursor));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => TEMPLATES_RESULT);
  server.setRequestHandler(ReadResourceRequestSchema, (request) => readResource(request.params.uri));
}

/** One page of the catalogue (both eras). */
export function listResources(cursor: string | undefined): ListResourcesResult {
  const page = paginate(STATIC_RESOURCES, cursor, RESOURCE_PAGE_SIZE);
  return page.nextCursor ? { resources: page.items, nextCursor: page.nextCursor } : { resources: page.items };
}

/** The contents of one resource, or the resource-not-found error (both eras). */
export function readResource(uri: string): ReadResourceResult {
  const contents = findResource(uri);
  if (!contents) throw resourceNotFound(uri);
  return { contents: [contents] };
}
