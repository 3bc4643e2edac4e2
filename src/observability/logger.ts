import winston from 'winston';

/**
 * Structured logs. Each module gets a child logger carrying its context
 * (instance, session, request) so one session can be followed across instances.
 */
export function createLogger(level: string, json: boolean, defaultMeta: Record<string, unknown> = {}): winston.Logger {
  return winston.createLogger({
    level,
    defaultMeta,
    format: json
      ? winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json())
      : winston.format.combine(winston.format.colorize(), winston.format.simple()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn'] })],
  });
}

export type Logger = winston.Logger;
