import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { defineTool, READ_ONLY, textResult } from './types.js';

/**
 * Conformance fixture (SEP-1613, SEP-2106): a tool whose inputSchema uses the
 * JSON Schema 2020-12 vocabulary — $schema, $defs with an $anchor, $ref,
 * allOf/anyOf, if/then/else, additionalProperties — and is published exactly
 * as written here. The arguments are checked by an equivalent zod schema.
 */

export const JSON_SCHEMA_2020_12_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
const MAX_FIELD_LENGTH = 1_000;

export const JSON_SCHEMA_2020_12_INPUT_SCHEMA: Tool['inputSchema'] = {
  $schema: JSON_SCHEMA_2020_12_DIALECT,
  type: 'object',
  $defs: {
    address: {
      $anchor: 'addressDef',
      type: 'object',
      properties: {
        street: { type: 'string' },
        city: { type: 'string' },
      },
    },
  },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' },
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: {
    properties: { contactMethod: { const: 'phone' } },
    required: ['contactMethod'],
  },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false,
};

const field = () => z.string().max(MAX_FIELD_LENGTH);

/** The same rules as JSON_SCHEMA_2020_12_INPUT_SCHEMA, as zod checks them. */
const ARGUMENTS = z
  .strictObject({
    name: field().optional(),
    // $defs/address sets no additionalProperties, so other keys are allowed (and ignored).
    address: z.object({ street: field().optional(), city: field().optional() }).optional(),
    contactMethod: z.enum(['phone', 'email']).optional(),
    phone: field().optional(),
    email: field().optional(),
  })
  .superRefine((args, context) => {
    // if contactMethod is "phone" then phone is required, else email is; which also meets the allOf/anyOf.
    const required = args.contactMethod === 'phone' ? 'phone' : 'email';
    if (args[required] === undefined) {
      context.addIssue({
        code: 'custom',
        path: [required],
        message: `${required} is required when contactMethod is ${args.contactMethod ?? 'absent'}`,
      });
    }
  });

export const jsonSchema202012Tool = defineTool({
  name: 'json_schema_2020_12_tool',
  description:
    'Conformance fixture (SEP-1613): its inputSchema uses JSON Schema 2020-12 ($schema, $defs, $anchor, $ref, allOf/anyOf, if/then/else, additionalProperties: false)',
  annotations: { title: 'Test: JSON Schema 2020-12', ...READ_ONLY },
  args: ARGUMENTS,
  inputSchema: JSON_SCHEMA_2020_12_INPUT_SCHEMA,
  run: (args) => textResult(`json_schema_2020_12_tool received: ${JSON.stringify(args)}`),
});
