import { z } from 'zod';
import { TINY_IMAGE_MIME_TYPE, TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import { defineTool, READ_ONLY } from './types.js';

export const getTinyImageTool = defineTool({
  name: 'getTinyImage',
  description: 'Returns the MCP_TINY_IMAGE',
  annotations: { title: 'Get Tiny Image', ...READ_ONLY },
  args: z.object({}),
  run: () => ({
    content: [
      { type: 'text', text: 'This is a tiny image:' },
      { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: TINY_IMAGE_MIME_TYPE },
      { type: 'text', text: 'The image above is the MCP tiny image.' },
    ],
  }),
});
