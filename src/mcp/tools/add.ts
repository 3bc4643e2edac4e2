import { z } from 'zod';
import { defineTool, READ_ONLY, textResult } from './types.js';

export const addTool = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  annotations: { title: 'Add Two Numbers', ...READ_ONLY },
  args: z.object({
    // zod numbers are finite: NaN and ±Infinity are rejected.
    a: z.number().describe('First number'),
    b: z.number().describe('Second number'),
  }),
  run: ({ a, b }) => textResult(`The sum of ${a} and ${b} is ${a + b}.`),
});
