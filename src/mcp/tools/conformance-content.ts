import { z } from 'zod';
import { TINY_AUDIO_MIME_TYPE, TINY_AUDIO_WAV_BASE64 } from '../tiny-audio.js';
import { TINY_IMAGE_MIME_TYPE, TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import { defineTool, READ_ONLY, textResult, toolError } from './types.js';

/**
 * Conformance fixtures (server mode of @modelcontextprotocol/conformance):
 * tools that return one kind of content each, and one that fails on purpose.
 * None takes arguments.
 */

const NO_ARGUMENTS = z.object({});

export const testSimpleTextTool = defineTool({
  name: 'test_simple_text',
  description: 'Conformance fixture: returns one text content block',
  annotations: { title: 'Test: Simple Text', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: () => textResult('This is a simple text response for testing.'),
});

export const testImageContentTool = defineTool({
  name: 'test_image_content',
  description: 'Conformance fixture: returns one PNG image content block',
  annotations: { title: 'Test: Image Content', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: () => ({ content: [{ type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: TINY_IMAGE_MIME_TYPE }] }),
});

export const testAudioContentTool = defineTool({
  name: 'test_audio_content',
  description: 'Conformance fixture: returns one WAV audio content block',
  annotations: { title: 'Test: Audio Content', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: () => ({ content: [{ type: 'audio', data: TINY_AUDIO_WAV_BASE64, mimeType: TINY_AUDIO_MIME_TYPE }] }),
});

export const testEmbeddedResourceTool = defineTool({
  name: 'test_embedded_resource',
  description: 'Conformance fixture: returns one embedded text resource',
  annotations: { title: 'Test: Embedded Resource', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: () => ({
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.',
        },
      },
    ],
  }),
});

export const testMultipleContentTypesTool = defineTool({
  name: 'test_multiple_content_types',
  description: 'Conformance fixture: returns a text, an image and an embedded JSON resource together',
  annotations: { title: 'Test: Multiple Content Types', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: TINY_IMAGE_MIME_TYPE },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 }),
        },
      },
    ],
  }),
});

export const testErrorHandlingTool = defineTool({
  name: 'test_error_handling',
  description: 'Conformance fixture: always fails, with an isError result (not a protocol error)',
  annotations: { title: 'Test: Error Handling', ...READ_ONLY },
  args: NO_ARGUMENTS,
  run: () => toolError('This tool intentionally returns an error for testing'),
});
