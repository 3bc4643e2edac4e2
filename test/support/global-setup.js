import { startPrivateRedis } from './redis-server.js';

/** One private redis-server for the run; its URL reaches every suite through TEST_REDIS_URL. */
export default async function globalSetup() {
  const redis = await startPrivateRedis();
  globalThis.__PRIVATE_REDIS__ = redis;
  process.env.TEST_REDIS_URL = redis.url;
}
