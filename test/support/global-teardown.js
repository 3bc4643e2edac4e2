export default async function globalTeardown() {
  await Promise.all([globalThis.__PRIVATE_REDIS__?.stop(), globalThis.__PRIVATE_CLUSTER__?.stop()]);
}
