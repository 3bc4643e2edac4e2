import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  ListRootsResultSchema,
  McpError,
  type ClientCapabilities,
  type LoggingLevel,
  type ProgressToken,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import {
  AwaitingClient,
  BecomeTask,
  checkCapability,
  MissingClientCapability,
  type CallContext,
  type ClientQuestion,
} from '../mcp/call-context.js';
import { DEFAULT_LOGGER_NAME, levelAdmits } from '../mcp/logging.js';
import type { ChangeEvents } from './change-events.js';
import { MODERN_ERRORS } from './wire.js';

export const ANSWER_SCHEMAS = {
  'sampling/createMessage': CreateMessageResultSchema,
  'elicitation/create': ElicitResultSchema,
  'roots/list': ListRootsResultSchema,
} as const;

/** The short name a question's key starts with. */
const KEY_STEMS: Record<ClientQuestion['method'], string> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

/** What the 2026-07-28 era knows of one request, for its call context. */
export interface ModernCall {
  signal: AbortSignal;
  clientCapabilities: ClientCapabilities;
  /** The request's `_meta` log level: without one, no log message is sent. */
  logLevel: LoggingLevel | undefined;
  progressToken: ProgressToken | undefined;
  /** Answers the client gave: earlier rounds (sealed state) and this one (inputResponses). */
  answers: Readonly<Record<string, unknown>>;
  /** A notification on the request's own response (which becomes an event stream). */
  notify(notification: ServerNotification): Promise<void>;
  events: ChangeEvents;
  /** The client negotiated the tasks extension for this request. */
  tasksNegotiated: boolean;
}

/**
 * The 2026-07-28 call context: a question is answered from the answers the
 * client sent, or ends this round with an input_required result (AwaitingClient);
 * the retry runs the tool again from the start, and the questions it asked
 * before find their answers. Keys are the question's kind and its rank among
 * the call's questions of that kind (`sampling`, `sampling-2`, …), so a retry
 * asks the same questions under the same keys. `used` collects the answers
 * the call consumed, to seal into the next round's state.
 */
export function modernCallContext(call: ModernCall, used: Record<string, unknown>): CallContext {
  const ranks = new Map<string, number>();
  const keyFor = (question: ClientQuestion) => {
    const stem = KEY_STEMS[question.method];
    const rank = (ranks.get(stem) ?? 0) + 1;
    ranks.set(stem, rank);
    return rank === 1 ? stem : `${stem}-${rank}`;
  };
  const answerOf = (key: string, question: ClientQuestion): unknown => {
    requireCapability(question, call.clientCapabilities);
    if (!(key in call.answers)) return undefined;
    const parsed = ANSWER_SCHEMAS[question.method].safeParse(call.answers[key]);
    if (!parsed.success) {
      throw new McpError(ErrorCode.InvalidParams, `Invalid params: inputResponses.${key} is not a valid answer to ${question.method}`);
    }
    used[key] = call.answers[key];
    return parsed.data;
  };

  const askAll = async (questions: Record<string, ClientQuestion>) => {
    const answers: Record<string, unknown> = {};
    const missing: Record<string, ClientQuestion> = {};
    for (const [key, question] of Object.entries(questions)) {
      const answer = answerOf(key, question);
      if (answer === undefined) missing[key] = question;
      else answers[key] = answer;
    }
    if (Object.keys(missing).length > 0) throw new AwaitingClient(missing);
    return answers;
  };

  const context: CallContext = {
    signal: call.signal,
    clientCapabilities: call.clientCapabilities,
    reportsProgress: call.progressToken !== undefined,
    ask: (async (question: ClientQuestion, named?: string) => {
      const key = named ?? keyFor(question);
      return (await askAll({ [key]: question }))[key];
    }) as CallContext['ask'],
    askAll: askAll as CallContext['askAll'],
    requires: (question) => requireCapability(question, call.clientCapabilities),
    progress: async (progress, total, message) => {
      if (call.progressToken === undefined) return;
      await call.notify({
        method: 'notifications/progress',
        params: { progressToken: call.progressToken, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
      });
    },
    log: async (level, data) => {
      if (call.logLevel === undefined || !levelAdmits(call.logLevel, level)) return;
      await call.notify({ method: 'notifications/message', params: { level, logger: DEFAULT_LOGGER_NAME, data } });
    },
    notify: (notification) => call.notify(notification),
    listChanged: async (list) => call.events.listChanged(list),
    continueAsTask: async (work) => {
      if (call.tasksNegotiated) throw new BecomeTask(work);
      return work(context);
    },
  };
  return context;
}

/** In this era a missing capability is the request's error (-32021), not the tool's. */
export function requireCapability(question: ClientQuestion, capabilities: ClientCapabilities): void {
  try {
    checkCapability(question, capabilities);
  } catch (error) {
    if (!(error instanceof MissingClientCapability)) throw error;
    throw new McpError(MODERN_ERRORS.missingClientCapability, `Missing required client capability: ${error.describe}`, {
      requiredCapabilities: error.required,
    });
  }
}

/** A question as the 2026-07-28 wire carries it inside inputRequests. */
export function inputRequestOf(question: ClientQuestion): Record<string, unknown> {
  if (question.method === 'elicitation/create' && question.params.mode === 'url') {
    // This era's URL mode has no elicitationId: the round's own state ties answer to question.
    const { elicitationId: _unused, ...params } = question.params;
    return { method: question.method, params };
  }
  return question.params === undefined ? { method: question.method } : { method: question.method, params: question.params };
}
