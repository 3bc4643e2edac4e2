import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallObserver, CallOutcome, Era } from './metrics.js';

/** Runs a tool call and reports how it ended and how long it took (when there is an observer). */
export async function observed<T extends object>(
  calls: CallObserver | undefined,
  tool: string,
  era: Era,
  run: () => Promise<T> | T,
  outcomeOf: (result: T) => CallOutcome = (result) => ((result as CallToolResult).isError ? 'tool_error' : 'ok'),
): Promise<T> {
  if (!calls) return run();
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const result = await run();
    calls.toolCall(tool, era, outcomeOf(result), seconds());
    return result;
  } catch (error) {
    calls.toolCall(tool, era, 'protocol_error', seconds());
    throw error;
  }
}
