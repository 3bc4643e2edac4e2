import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  type ListResourceTemplatesResult,
} from '@modelcontextprotocol/sdk/types.js';
import { resourceNotFound } from '../errors.js';
import { findResource } from './catalog.js';
import { FIXTURE_TEMPLATE } from './conformance-resources.js';
import { paginate } from './pagination.js';
import { STATIC_RESOURCE_TEMPLATE, STATIC_RESOURCES } from './static-resources.js';

export const RESOURCE_PAGE_SIZE = 10;

const TEMPLATES_RESULT: ListResourceTemplatesResult = Object.freeze({
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
  server.setRequestHandler(ListResourcesRequestSchema, (request) => {
    const page = paginate(STATIC_RESOURCES, request.params?.cursor, RESOURCE_PAGE_SIZE);
    return page.nextCursor ? { resources: page.items, nextCursor: page.nextCursor } : { resources: page.items };
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => TEMPLATES_RESULT);

  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    const contents = findResource(request.params.uri);
    if (!contents) throw resourceNotFound(request.params.uri);
    return { contents: [contents] };
  });
}
