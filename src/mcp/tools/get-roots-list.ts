import { z } from 'zod';
import { describeRoots } from '../roots.js';
import { defineTool, READ_ONLY, textResult } from './types.js';

/**
 * Roots: asks the client for its roots (roots/list on the call's own stream)
 * and lists them. The server reads no files; it only shows what it was told.
 */
export const getRootsListTool = defineTool({
  name: 'get-roots-list',
  description: "Asks the client for its roots (roots/list) and lists them; the server itself never reads the client's files",
  annotations: { title: 'Get Roots List', ...READ_ONLY },
  args: z.object({}),
  run: async (_args, { ask }) => {
    const { roots } = await ask({ method: 'roots/list' });
    return textResult(describeRoots(roots));
  },
});
