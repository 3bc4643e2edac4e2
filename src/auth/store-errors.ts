import { AuthUnavailableError } from './token-lookup.js';

/** The store (Redis) did not answer: callers answer 503 / temporarily_unavailable, never 500. */
export class StoreUnavailableError extends AuthUnavailableError {
  constructor(cause: unknown) {
    super(`auth store unavailable: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'StoreUnavailableError';
  }
}

/** Runs one store operation, turning any failure into StoreUnavailableError. */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(error);
  }
}
