import { PROMPT_ICONS } from '../icons.js';
import { TINY_IMAGE_MIME_TYPE, TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import { optionalArgument, requiredArgument, type PromptDefinition } from './types.js';

export const COMPLEX_PROMPT_NAME = 'complex_prompt';

export const complexPrompt: PromptDefinition = {
  prompt: {
    name: COMPLEX_PROMPT_NAME,
    title: 'Complex Prompt',
    description: 'A prompt with arguments',
    icons: PROMPT_ICONS,
    arguments: [
      { name: 'temperature', description: 'Temperature setting', required: true },
      { name: 'style', description: 'Output style', required: false },
    ],
  },
  get(args) {
    const temperature = requiredArgument(args, 'temperature');
    // An absent style reads "undefined", as clients of this prompt have always seen it.
    const style = optionalArgument(args, 'style');
    return {
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: `This is a complex prompt with arguments: temperature=${temperature}, style=${style}`,
          },
        },
        {
          role: 'assistant',
          content: {
            type: 'text',
            text: "I understand. You've provided a complex prompt with temperature and style arguments. How would you like me to proceed?",
          },
        },
        { role: 'user', content: { type: 'image', data: TINY_IMAGE_PNG_BASE64, mimeType: TINY_IMAGE_MIME_TYPE } },
      ],
    };
  },
};
