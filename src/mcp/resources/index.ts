import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  type ListResourceTemplatesResult,
} from '@modelcontextprotocol/sdk/types.js';
import { resourceNotFound } from '../errors.js';
import { paginate } from './pagination.js';
import { findStaticResource, STATIC_RESOURCE_TEMPLATE, STATIC_RESOURCES } from './static-resources.js';

export const RESOURCE_PAGE_SIZE = 10;

const TEMPLATES_RESULT: ListResourceTemplatesResult = Object.freeze({
  resourceTemplates: [STATIC_RESOURCE_TEMPLATE],
});

/** resources/list, resources/templates/list and resources/read; stateless, so shared handlers suffice. */
export function registerResourceHandlers(server: Server): void {
  server.setRequestHandler(ListResourcesRequestSchema, (request) => {
    const page = paginate(STATIC_RESOURCES, request.params?.cursor, RESOURCE_PAGE_SIZE);
    return page.nextCursor ? { resources: page.items, nextCursor: page.nextCursor } : { resources: page.items };
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => TEMPLATES_RESULT);

  server.setRequestHandler(ReadResourceRequestSchema, (request) => {
    const contents = findStaticResource(request.params.uri);
    if (!contents) throw resourceNotFound(request.params.uri);
    return { contents: [contents] };
  });
}
