import type { ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { STATIC_RESOURCES } from '../resources/static-resources.js';
import { defineTool, READ_ONLY } from './types.js';

export const MAX_RESOURCE_LINKS = 10;

/** resource_link blocks point at resources the client may read later, without embedding them. */
export const getResourceLinksTool = defineTool({
  name: 'get-resource-links',
  description: `Returns resource_link content blocks pointing at the first static resources (1-${MAX_RESOURCE_LINKS} links)`,
  annotations: { title: 'Get Resource Links', ...READ_ONLY },
  args: z.object({
    count: z
      .number()
      .int()
      .min(1)
      .max(MAX_RESOURCE_LINKS)
      .default(3)
      .describe(`Number of resource links to return (1-${MAX_RESOURCE_LINKS})`),
  }),
  run: ({ count }) => {
    const links: ContentBlock[] = STATIC_RESOURCES.slice(0, count).map((resource) => ({
      type: 'resource_link',
      uri: resource.uri,
      name: resource.name,
      description: `${resource.mimeType === 'text/plain' ? 'Text' : 'Binary'} resource: read it with resources/read`,
      ...(resource.mimeType ? { mimeType: resource.mimeType } : {}),
    }));
    return {
      content: [{ type: 'text', text: `Here are ${count} resource links to resources of this server:` }, ...links],
    };
  },
});
