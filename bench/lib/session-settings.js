// Settings of bench/sessions.js (env), shared with bench/run.js, which runs it
// as a child when BENCH_WITH_SESSIONS=1 and must give it time in its own watchdog.
// Names are BENCH_SESSIONS_* where run.js already uses the plain name.
export function readSessionSettings(env = process.env) {
  const number = (name, fallback) => {
    if (env[name] === undefined || env[name] === '') return fallback;
    const value = Number(env[name]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
    return value;
  };
  const sessions = number('BENCH_SESSIONS', 100_000);
  return {
    sessions,
    concurrency: number('BENCH_SESSIONS_CONCURRENCY', 64),
    evictAfterS: number('BENCH_EVICT_AFTER_S', 5),
    /** SESSION_IDLE_TIMEOUT_S of the instances: no session may expire during the run. */
    idleTimeoutS: number('BENCH_SESSION_IDLE_TIMEOUT_S', 3600),
    latencySamples: number('BENCH_LATENCY_SAMPLES', 200),
    requestTimeoutS: number('BENCH_SESSIONS_REQUEST_TIMEOUT_S', 10),
    keyUsageSamples: number('BENCH_KEY_USAGE_SAMPLES', 50),
    /** Watchdog: 4 min of fixed phases plus 200 sessions/s, half the rate seen on a busy 2-core machine. */
    timeoutS: number('BENCH_SESSIONS_TIMEOUT_S', Math.ceil(240 + sessions / 200)),
    strict: env.BENCH_STRICT === '1',
  };
}
