import { decode, envelope, serializeReply, ToClientEnvelopeSchema } from './envelopes.js';

describe('envelopes', () => {
  const message = { jsonrpc: '2.0' as const, id: 'x"1', result: { content: [{ type: 'text', text: 'a "quoted" \\n text' }] } };

  test.each([
    [undefined, undefined],
    ['inst.1', undefined],
    ['inst.2', '1700000000000-3'],
  ])('serializeReply(delivery %s, position %s) equals the generic encoding', (delivery, position) => {
    const fast = serializeReply(JSON.stringify(message), delivery, position);
    expect(JSON.parse(fast)).toEqual(JSON.parse(JSON.stringify(envelope.reply(message, delivery, position))));
    expect(decode(ToClientEnvelopeSchema, fast)).toEqual(JSON.parse(JSON.stringify({ v: 1, type: 'message', delivery, position, message })));
  });

  test('anything that is not a JSON-RPC message is refused, without throwing', () => {
    for (const raw of ['', 'null', '[]', '{"v":1,"type":"message","message":{"jsonrpc":"2.0"}}', '{"v":1,"type":"message","message":{"jsonrpc":"1.0","id":1}}', '{"v":2,"type":"end","reason":"x"}']) {
      expect(decode(ToClientEnvelopeSchema, raw)).toBeUndefined();
    }
  });
});
