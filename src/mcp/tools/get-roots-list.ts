import { ListRootsResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { describeRoots } from '../roots.js';
import { clientRequestOptions, describeFailure } from './client-requests.js';
import { defineTool, READ_ONLY, textResult, toolError } from './types.js';

/**
 * Roots: asks the client for its roots (roots/list on the call's own stream)
 * and lists them. The server reads no files; it only shows what it was told.
 */
export const getRootsListTool = defineTool({
  name: 'get-roots-list',
  description: "Asks the client for its roots (roots/list) and lists them; the server itself never reads the client's files",
  annotations: { title: 'Get Roots List', ...READ_ONLY },
  args: z.object({}),
  run: async (_args, { server, extra }) => {
    if (!server.getClientCapabilities()?.roots) {
      return toolError('The client does not support roots (no roots capability declared), so get-roots-list cannot run.');
    }
    try {
      const { roots } = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema, clientRequestOptions(extra.signal));
      return textResult(describeRoots(roots));
    } catch (error) {
      return toolError(`Listing the roots failed: ${describeFailure(error)}`);
    }
  },
});
