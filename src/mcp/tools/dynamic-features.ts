import { z } from 'zod';
import { DYNAMIC_PROMPT_NAME } from '../prompts/dynamic-prompt.js';
import { defineTool, needsSession, READ_ONLY, SESSION_SWITCH, textResult } from './types.js';

/**
 * List-changed notifications: a tool and a prompt that exist only for the
 * sessions that switched them on. Switching sends notifications/tools/list_changed
 * and notifications/prompts/list_changed on the standalone stream.
 */

export const DYNAMIC_TOOL_NAME = 'dynamic-tool';

export const dynamicTool = defineTool({
  name: DYNAMIC_TOOL_NAME,
  description: 'Exists only in sessions that switched it on with toggle-dynamic-features',
  annotations: { title: 'Dynamic Tool', ...READ_ONLY },
  args: z.object({}),
  run: () => textResult('Hello from dynamic-tool: this session added me with toggle-dynamic-features.'),
});

export const toggleDynamicFeaturesTool = defineTool({
  name: 'toggle-dynamic-features',
  description: `Adds (or removes) the tool ${DYNAMIC_TOOL_NAME} and the prompt ${DYNAMIC_PROMPT_NAME} for this session only, and sends notifications/tools/list_changed and notifications/prompts/list_changed on the standalone stream`,
  annotations: { title: 'Toggle Dynamic Features', ...SESSION_SWITCH },
  args: z.object({
    enabled: z.boolean().optional().describe('true adds, false removes; omitted flips the current setting'),
  }),
  run: async ({ enabled }, { session }) => {
    if (!session) return needsSession('toggle-dynamic-features');
    const { server, state, controls } = session;
    const on = enabled ?? state.dynamicFeatures !== true;
    const changed = on !== (state.dynamicFeatures === true);
    if (on) state.dynamicFeatures = true;
    else delete state.dynamicFeatures;
    if (changed) {
      controls.stateChanged();
      // Not tied to this call: list changes go to the standalone stream. Nobody listening is not an error.
      await Promise.all([server.sendToolListChanged(), server.sendPromptListChanged()]).catch(() => {});
    }
    const what = `the tool ${DYNAMIC_TOOL_NAME} and the prompt ${DYNAMIC_PROMPT_NAME}`;
    if (!changed) return textResult(`Nothing changed: ${what} are already ${on ? 'present' : 'absent'} in this session.`);
    return textResult(
      `${on ? 'Added' : 'Removed'} ${what} ${on ? 'to' : 'from'} this session; sent notifications/tools/list_changed and notifications/prompts/list_changed.`,
    );
  },
});
