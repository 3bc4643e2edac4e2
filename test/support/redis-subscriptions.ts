/** What Redis says is subscribed, whole-server: for tests that check nothing leaks. */

interface PubSubAdmin {
  pubSubChannels(): Promise<unknown>;
  pubSubShardChannels(): Promise<unknown>;
  pubSubNumPat(): Promise<unknown>;
}

/** Every channel subscribed, classic and sharded (a session's channels are sharded), sorted; and the pattern count. */
export async function subscribedChannels(admin: PubSubAdmin): Promise<{ channels: string[]; patterns: number }> {
  const [classic, sharded, patterns] = await Promise.all([admin.pubSubChannels(), admin.pubSubShardChannels(), admin.pubSubNumPat()]);
  return { channels: [...(classic as string[]), ...(sharded as string[])].sort(), patterns: Number(patterns) };
}

/** Channels of client streams (request streams, and sessions' standalone channels held by edges). */
export async function streamChannels(admin: PubSubAdmin): Promise<string[]> {
  return (await subscribedChannels(admin)).channels.filter((channel) => channel.startsWith('mcp:shttp:toclient:'));
}
