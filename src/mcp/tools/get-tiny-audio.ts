import { z } from 'zod';
import { TINY_AUDIO_MIME_TYPE, TINY_AUDIO_WAV_BASE64 } from '../tiny-audio.js';
import { defineTool, READ_ONLY } from './types.js';

export const getTinyAudioTool = defineTool({
  name: 'get-tiny-audio',
  description: 'Returns audio content: a tenth of a second of a 440 Hz tone as a WAV file',
  annotations: { title: 'Get Tiny Audio', ...READ_ONLY },
  args: z.object({}),
  run: () => ({
    content: [
      { type: 'text', text: 'This is a tiny sound:' },
      { type: 'audio', data: TINY_AUDIO_WAV_BASE64, mimeType: TINY_AUDIO_MIME_TYPE },
      { type: 'text', text: 'The audio above is a 0.1 s, 440 Hz tone (WAV, 8 kHz, 8-bit, mono).' },
    ],
  }),
});
