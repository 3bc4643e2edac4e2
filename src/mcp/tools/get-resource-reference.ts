import { z } from 'zod';
import { STATIC_RESOURCE_COUNT, staticResourceById } from '../resources/static-resources.js';
import { defineTool, READ_ONLY, toolError } from './types.js';

export const getResourceReferenceTool = defineTool({
  name: 'getResourceReference',
  description: 'Returns a resource reference that can be used by MCP clients',
  annotations: { title: 'Get Resource Reference', ...READ_ONLY },
  args: z.object({
    resourceId: z
      .number()
      .int()
      .min(1)
      .max(STATIC_RESOURCE_COUNT)
      .describe(`ID of the resource to reference (1-${STATIC_RESOURCE_COUNT})`),
  }),
  run: ({ resourceId }) => {
    const resource = staticResourceById(resourceId);
    if (!resource) return toolError(`Resource with ID ${resourceId} does not exist`);
    return {
      content: [
        { type: 'text', text: `Returning resource reference for Resource ${resourceId}:` },
        { type: 'resource', resource },
        { type: 'text', text: `You can access this resource using the URI: ${resource.uri}` },
      ],
    };
  },
});
