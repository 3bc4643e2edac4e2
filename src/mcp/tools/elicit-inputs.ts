import type { ElicitRequestFormParams } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ASKS_THE_CLIENT, defineTool, textResult } from './types.js';

/** One field of each kind a form elicitation can ask for. */
const REQUESTED_SCHEMA: ElicitRequestFormParams['requestedSchema'] = {
  type: 'object',
  properties: {
    name: { title: 'Full Name', type: 'string', description: 'Your full, legal name' },
    check: { title: 'Agree to terms', type: 'boolean', description: 'A boolean check' },
    color: { title: 'Favorite Color', type: 'string', description: 'Favorite color (open text)', default: 'blue' },
    email: {
      title: 'Email Address',
      type: 'string',
      format: 'email',
      description: 'Your email address (will be verified, and never shared with anyone else)',
    },
    homepage: { type: 'string', format: 'uri', description: 'Homepage / personal site' },
    birthdate: {
      title: 'Birthdate',
      type: 'string',
      format: 'date',
      description: 'Your date of birth (will never be shared with anyone else)',
    },
    integer: {
      title: 'Favorite Integer',
      type: 'integer',
      description: 'Your favorite integer (do not give us your phone number, pin, or other sensitive info)',
      minimum: 1,
      maximum: 100,
      default: 42,
    },
    number: {
      title: 'Favorite Number',
      type: 'number',
      description: 'Favorite number (there are no wrong answers)',
      minimum: 0,
      maximum: 1000,
      default: 3.14,
    },
    petType: {
      title: 'Pet type',
      type: 'string',
      enum: ['cats', 'dogs', 'birds', 'fish', 'reptiles'],
      enumNames: ['Cats', 'Dogs', 'Birds', 'Fish', 'Reptiles'],
      default: 'dogs',
      description: 'Your favorite pet type',
    },
  },
  required: ['name'],
};

export const elicitInputsTool = defineTool({
  name: 'elicitInputs',
  description: 'Elicitation test tool that demonstrates how to request user input with various field types',
  annotations: { title: 'Elicit Inputs', ...ASKS_THE_CLIENT },
  args: z.object({}),
  run: async (_args, { ask }) => {
    // Older clients ignore `mode`; newer ones need it to tell a form from a URL request.
    const params: ElicitRequestFormParams = {
      mode: 'form',
      message: 'Please provide inputs for the following fields:',
      requestedSchema: REQUESTED_SCHEMA,
    };
    const result = await ask({ method: 'elicitation/create', params });
    return textResult(`Elicitation result: ${JSON.stringify(result, null, 2)}`);
  },
});
