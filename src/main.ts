import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './observability/logger.js';
import { startServer } from './server.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const logger = createLogger(config.logLevel, config.jsonLogs);

process.on('unhandledRejection', (reason) => {
  // A bug, never a client's doing; log it and keep serving everyone else.
  logger.error('unhandled rejection', { reason: reason instanceof Error ? reason.message : String(reason) });
});

const server = await startServer(config, logger);
// `url` is where clients connect: BASE_URI, the issuer whose `/mcp` every token names (an OAuth
// client must use this exact URL). `address` is the socket bound (HOST and PORT).
const bound = server.http.address();
logger.info('listening', {
  url: config.baseUri,
  mcp: `${config.baseUri}/mcp`,
  address: typeof bound === 'object' && bound ? `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}` : String(bound),
  backend: config.redisClusterNodes ? 'redis-cluster' : config.redisUrl ? 'redis' : 'memory',
  authMode: config.authMode,
  instanceId: server.runtime.instanceId,
});

let shuttingDown = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal });
    // Past the grace period plus a margin for handing sessions over, give up.
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 5000);
    force.unref();
    server.stop(config.shutdownGraceMs).then(
      () => process.exit(0),
      (error: Error) => {
        logger.error('shutdown failed', { error: error.message });
        process.exit(1);
      },
    );
  });
}
