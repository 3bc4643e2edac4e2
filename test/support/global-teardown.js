export default async function globalTeardown() {
  await globalThis.__PRIVATE_REDIS__?.stop();
}
