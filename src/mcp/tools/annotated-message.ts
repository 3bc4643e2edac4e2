import type { ContentBlock, TextContent } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { TINY_IMAGE_MIME_TYPE, TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import { defineTool, READ_ONLY } from './types.js';

type MessageType = 'error' | 'success' | 'debug';

/** Priority and audience follow how much each kind of message matters, and to whom. */
const MESSAGES: Readonly<Record<MessageType, TextContent>> = {
  error: {
    type: 'text',
    text: 'Error: Operation failed',
    annotations: { priority: 1.0, audience: ['user', 'assistant'] },
  },
  success: {
    type: 'text',
    text: 'Operation completed successfully',
    annotations: { priority: 0.7, audience: ['user'] },
  },
  debug: {
    type: 'text',
    text: 'Debug: Cache hit ratio 0.95, latency 150ms',
    annotations: { priority: 0.3, audience: ['assistant'] },
  },
};

const IMAGE: ContentBlock = {
  type: 'image',
  data: TINY_IMAGE_PNG_BASE64,
  mimeType: TINY_IMAGE_MIME_TYPE,
  annotations: { priority: 0.5, audience: ['user'] },
};

export const annotatedMessageTool = defineTool({
  name: 'annotatedMessage',
  description: 'Demonstrates how annotations can be used to provide metadata about content',
  annotations: { title: 'Annotated Message', ...READ_ONLY },
  args: z.object({
    messageType: z
      .enum(['error', 'success', 'debug'])
      .describe('Type of message to demonstrate different annotation patterns'),
    includeImage: z.boolean().default(false).describe('Whether to include an example image'),
  }),
  run: ({ messageType, includeImage }) => ({
    content: includeImage ? [MESSAGES[messageType], IMAGE] : [MESSAGES[messageType]],
  }),
});
