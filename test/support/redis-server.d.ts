/** A private redis-server on a free loopback port; never the machine's shared one. */
export interface PrivateRedis {
  url: string;
  port: number;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port (data is not kept). */
  restart(downMs?: number): Promise<void>;
}
export function freePort(): Promise<number>;
export function startPrivateRedis(): Promise<PrivateRedis>;
