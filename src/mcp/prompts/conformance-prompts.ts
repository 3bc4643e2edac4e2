import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { invalidParams, shorten } from '../errors.js';
import { PROMPT_ICONS } from '../icons.js';
import { TINY_IMAGE_MIME_TYPE, TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import { requiredArgument, type PromptDefinition } from './types.js';

/** Conformance fixtures (server mode of @modelcontextprotocol/conformance): four prompts. */

export const TEST_PROMPT_WITH_ARGUMENTS_NAME = 'test_prompt_with_arguments';
export const MAX_EMBEDDED_URI_LENGTH = 2_048;

const SIMPLE_RESULT: GetPromptResult = {
  messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
};

export const testSimplePrompt: PromptDefinition = {
  prompt: {
    name: 'test_simple_prompt',
    title: 'Test: Simple Prompt',
    description: 'Conformance fixture: one user message, no arguments',
    icons: PROMPT_ICONS,
  },
  get: () => SIMPLE_RESULT,
};

export const testPromptWithArguments: PromptDefinition = {
  prompt: {
    name: TEST_PROMPT_WITH_ARGUMENTS_NAME,
    title: 'Test: Prompt with Arguments',
    description: 'Conformance fixture: a user message quoting both arguments',
    icons: PROMPT_ICONS,
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
  },
  get(args) {
    const arg1 = requiredArgument(args, 'arg1');
    const arg2 = requiredArgument(args, 'arg2');
    return {
      messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }],
    };
  },
};

export const testPromptWithEmbeddedResource: PromptDefinition = {
  prompt: {
    name: 'test_prompt_with_embedded_resource',
    title: 'Test: Prompt with Embedded Resource',
    description: 'Conformance fixture: embeds a text resource under the given URI (its content is fixed; the URI is not read)',
    icons: PROMPT_ICONS,
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
  },
  get(args) {
    const uri = requiredArgument(args, 'resourceUri');
    if (uri.length > MAX_EMBEDDED_URI_LENGTH || !URL.canParse(uri)) {
      throw invalidParams(`Invalid resourceUri: ${shorten(uri)}. Must be an absolute URI of at most ${MAX_EMBEDDED_URI_LENGTH} characters.`);
    }
    return {
      messages: [
        {
          role: 'user',
          content: { type: 'resource', resource: { uri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } },
        },
        { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
      ],
    };
  },
};

const IMAGE_RESULT: GetPromptResult = {
  messages: [
    { role: 'user', content: { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: TINY_IMAGE_MIME_TYPE } },
    { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
  ],
};

export const testPromptWithImage: PromptDefinition = {
  prompt: {
    name: 'test_prompt_with_image',
    title: 'Test: Prompt with Image',
    description: 'Conformance fixture: an image message followed by a text message',
    icons: PROMPT_ICONS,
  },
  get: () => IMAGE_RESULT,
};
