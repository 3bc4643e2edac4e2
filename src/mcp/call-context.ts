import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  ClientCapabilities,
  CreateMessageRequest,
  CreateMessageResult,
  ElicitRequestFormParams,
  ElicitRequestURLParams,
  ElicitResult,
  ListRootsResult,
  LoggingLevel,
  ServerNotification,
  ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { SessionControls, SessionFeatureState } from './session-features.js';

/**
 * What a feature may ask the client while it runs. In a session (2025 era)
 * each question is a server→client request on the call's stream; in the
 * stateless 2026-07-28 era it is an `input_required` round: the call answers
 * with the question and is run again with the client's answer.
 */
export type ClientQuestion =
  | { method: 'sampling/createMessage'; params: CreateMessageRequest['params'] }
  | { method: 'elicitation/create'; params: ElicitRequestFormParams | ElicitRequestURLParams }
  | { method: 'roots/list'; params?: undefined };

export interface ClientAnswers {
  'sampling/createMessage': CreateMessageResult;
  'elicitation/create': ElicitResult;
  'roots/list': ListRootsResult;
}

export type AnswerTo<Q extends ClientQuestion> = ClientAnswers[Q['method']];

/** The session a call runs in: only the 2025 era has one. */
export interface CallSession {
  server: Server;
  state: SessionFeatureState;
  controls: SessionControls;
  /** The SDK's handler extra: closeSSEStream and the task store live there. */
  extra: RequestHandlerExtra<ServerRequest, ServerNotification>;
}

/** What a running tool may use, in either era. */
export interface CallContext {
  /** Aborted when the call is cancelled or its client went away. */
  readonly signal: AbortSignal;
  /** What the client declared it can do (at initialize in a session; with every request in the 2026-07-28 era). */
  readonly clientCapabilities: ClientCapabilities | undefined;
  /**
   * Asks the client one question (see `requires` for a client that cannot
   * answer it). `key` names the question in an input_required round; by
   * default its kind and rank (`sampling`, `sampling-2`, …).
   */
  ask<Q extends ClientQuestion>(question: Q, key?: string): Promise<AnswerTo<Q>>;
  /**
   * Throws unless the client declared what `question` needs: MissingClientCapability
   * in a session (the tool reports it), error -32021 in the 2026-07-28 era.
   */
  requires(question: ClientQuestion): void;
  /** Asks several questions at once: one round in the 2026-07-28 era, one after the other in a session. */
  askAll<Q extends ClientQuestion>(questions: Record<string, Q>): Promise<Record<string, AnswerTo<Q>>>;
  /** Whether the client asked for progress (gave a progress token). */
  readonly reportsProgress: boolean;
  /** Reports progress on the call's own stream; nothing when the client gave no progress token. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** A log message on the call's own stream, when the client's level admits it. */
  log(level: LoggingLevel, data: unknown): Promise<void>;
  /** Any other notification about the call, on its own stream (e.g. elicitation/complete). */
  notify(notification: ServerNotification): Promise<void>;
  /**
   * Announces that a list changed: on the session's standalone stream in the
   * 2025 era; to every subscriptions/listen stream that asked for it, on every
   * instance, in the 2026-07-28 era.
   */
  listChanged(list: 'tools' | 'prompts' | 'resources'): Promise<void>;
  /**
   * Runs the rest of the call as a task where the client negotiated the tasks
   * extension (2026-07-28: the call answers at once with the task, `work`
   * runs on); elsewhere `work` simply runs now, as part of the call.
   */
  continueAsTask(work: (context: CallContext) => Promise<CallToolResult>): Promise<CallToolResult>;
  /** The session, in the 2025 era; absent in the stateless 2026-07-28 era. */
  readonly session?: CallSession;
}

/** The capability each kind of question needs, and how a tool names it when it is missing. */
export function requiredCapability(question: ClientQuestion): { missing: (c: ClientCapabilities | undefined) => boolean; required: ClientCapabilities; describe: string } {
  switch (question.method) {
    case 'sampling/createMessage':
      return { missing: (c) => !c?.sampling, required: { sampling: {} }, describe: 'sampling (no sampling capability declared)' };
    case 'roots/list':
      return { missing: (c) => !c?.roots, required: { roots: {} }, describe: 'roots (no roots capability declared)' };
    case 'elicitation/create':
      return question.params.mode === 'url'
        ? {
            missing: (c) => !supportsUrlElicitation(c),
            required: { elicitation: { url: {} } },
            describe: 'URL elicitation (no elicitation.url capability declared)',
          }
        : { missing: (c) => !supportsFormElicitation(c), required: { elicitation: { form: {} } }, describe: 'form elicitation' };
  }
}

/** JSON-RPC code of the 2026-07-28 era for a request that needs a capability the client did not declare. */
export const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021;

/** A question the client cannot answer because it did not declare the capability. */
export class MissingClientCapability extends Error {
  constructor(
    readonly required: ClientCapabilities,
    readonly describe: string,
  ) {
    super(`The client does not support ${describe}`);
    this.name = 'MissingClientCapability';
  }
}

/** A question the client was asked but did not answer (it failed, timed out, or the call was cancelled). */
export class ClientRequestFailed extends Error {
  constructor(
    readonly question: ClientQuestion,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'ClientRequestFailed';
  }

  /** How a tool reports it: "Sampling failed", "Elicitation failed", … */
  get what(): string {
    switch (this.question.method) {
      case 'sampling/createMessage':
        return 'Sampling';
      case 'roots/list':
        return 'Listing the roots';
      case 'elicitation/create':
        return this.question.params.mode === 'url' ? 'URL elicitation' : 'Elicitation';
    }
  }
}

/**
 * Thrown by `ask` in the 2026-07-28 era while an answer is missing: the call
 * stops here and answers with an `input_required` result carrying the
 * questions; the client's retry runs it again with the answers.
 */
export class AwaitingClient extends Error {
  constructor(readonly questions: Readonly<Record<string, ClientQuestion>>) {
    super('The call waits for the client to answer');
    this.name = 'AwaitingClient';
  }
}

/**
 * Thrown by `continueAsTask` in the 2026-07-28 era when the client negotiated
 * the tasks extension: the call becomes a task that runs `work`.
 */
export class BecomeTask extends Error {
  constructor(readonly work: (context: CallContext) => Promise<CallToolResult>) {
    super('The call continues as a task');
    this.name = 'BecomeTask';
  }
}

/** Throws MissingClientCapability unless `capabilities` allow `question`. */
export function checkCapability(question: ClientQuestion, capabilities: ClientCapabilities | undefined): void {
  const need = requiredCapability(question);
  if (need.missing(capabilities)) throw new MissingClientCapability(need.required, need.describe);
}

/**
 * Since 2025-11-25 a client lists the elicitation modes it supports; an empty
 * `elicitation` object (older clients) means form mode.
 */
export function supportsFormElicitation(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation;
  return elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined);
}

/** URL mode exists since 2025-11-25 and only for clients that declare `elicitation.url`. */
export function supportsUrlElicitation(capabilities: ClientCapabilities | undefined): boolean {
  return capabilities?.elicitation?.url !== undefined;
}
