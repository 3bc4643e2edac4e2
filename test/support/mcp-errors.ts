import { McpError } from '@modelcontextprotocol/sdk/types.js';

/** Awaits a promise that must reject with an McpError of this code, and returns that error. */
export async function expectMcpError(promise: Promise<unknown>, code: number): Promise<McpError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(McpError);
  expect((error as McpError).code).toBe(code);
  return error as McpError;
}
