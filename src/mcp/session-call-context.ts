import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListRootsResultSchema,
  type ProgressToken,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { checkCapability, ClientRequestFailed, type CallContext, type CallSession, type ClientQuestion } from './call-context.js';
import { sendLog } from './logging.js';

/**
 * Requests a tool sends to the client end with the tool call (signal) and
 * never wait longer than a user can be expected to answer.
 */
export const CLIENT_REQUEST_TIMEOUT_MS = 120_000;

const ANSWER_SCHEMAS = {
  'sampling/createMessage': CreateMessageResultSchema,
  'elicitation/create': ElicitResultSchema,
  'roots/list': ListRootsResultSchema,
} as const;

/** The 2025-era call context: questions are server→client requests on the call's own stream. */
export function sessionCallContext(
  session: CallSession,
  progressToken: ProgressToken | undefined,
  signal: AbortSignal = session.extra.signal,
): CallContext {
  const { server, state, extra } = session;
  const ask = async (question: ClientQuestion) => {
    checkCapability(question, server.getClientCapabilities());
    try {
      return await extra.sendRequest(question as ServerRequest, ANSWER_SCHEMAS[question.method], {
        signal,
        timeout: CLIENT_REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      throw new ClientRequestFailed(question, error);
    }
  };
  const context: CallContext = {
    signal,
    get clientCapabilities() {
      return server.getClientCapabilities();
    },
    reportsProgress: progressToken !== undefined,
    ask: ((question: ClientQuestion) => ask(question)) as CallContext['ask'],
    requires: (question) => checkCapability(question, server.getClientCapabilities()),
    askAll: (async (questions: Record<string, ClientQuestion>) => {
      const answers: Record<string, unknown> = {};
      for (const [key, question] of Object.entries(questions)) answers[key] = await ask(question);
      return answers;
    }) as CallContext['askAll'],
    progress: async (progress, total, message) => {
      if (progressToken === undefined) return;
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
      });
    },
    log: (level, data) => sendLog(extra, state, level, data),
    notify: (notification) => extra.sendNotification(notification),
    listChanged: async (list) => {
      const send = { tools: () => server.sendToolListChanged(), prompts: () => server.sendPromptListChanged(), resources: () => server.sendResourceListChanged() };
      // Not tied to this call: list changes go to the standalone stream. Nobody listening is not an error.
      await send[list]().catch(() => undefined);
    },
    session,
    // A session has no tasks extension: the rest of the call runs now (2025 tasks are asked for up front).
    continueAsTask: (work) => work(context),
  };
  return context;
}

