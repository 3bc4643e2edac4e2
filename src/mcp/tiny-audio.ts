/**
 * A tenth of a second of a 440 Hz tone as a WAV file (8 kHz, 8-bit, mono),
 * built once per process: the audio content of get-tiny-audio and
 * test_audio_content.
 */

const SAMPLE_RATE = 8000;
const SAMPLES = 800;
const FREQUENCY_HZ = 440;
/** Samples over which the tone fades in and out, so it starts and ends without a click. */
const FADE_SAMPLES = 80;

function buildWav(): Buffer {
  const data = Buffer.alloc(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    const envelope = Math.min(1, i / FADE_SAMPLES, (SAMPLES - i) / FADE_SAMPLES);
    // 8-bit PCM is unsigned, centred on 128.
    data[i] = Math.round(128 + 100 * envelope * Math.sin((2 * Math.PI * FREQUENCY_HZ * i) / SAMPLE_RATE));
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + SAMPLES, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE, 28); // byte rate: 1 byte per sample
  header.writeUInt16LE(1, 32); // block align
  header.writeUInt16LE(8, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(SAMPLES, 40);
  return Buffer.concat([header, data]);
}

export const TINY_AUDIO_WAV_BASE64 = buildWav().toString('base64');
export const TINY_AUDIO_MIME_TYPE = 'audio/wav';
