import { z } from 'zod';
import { defineTool, READ_ONLY, textResult } from './types.js';

export const MAX_ECHO_LENGTH = 10_000;

export const echoTool = defineTool({
  name: 'echo',
  description: 'Echoes back the input',
  annotations: { title: 'Echo', ...READ_ONLY },
  args: z.object({
    message: z.string().max(MAX_ECHO_LENGTH).describe('Message to echo'),
  }),
  run: ({ message }) => textResult(`Echo: ${message}`),
});
