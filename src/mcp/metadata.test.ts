import { connectInMemory, type InMemorySession } from '../../test/support/in-memory-session.js';
import { PROMPT_ICONS, RESOURCE_ICONS, TOOL_ICONS } from './icons.js';

let session: InMemorySession;
beforeAll(async () => {
  session = await connectInMemory();
  await session.client.callTool({ name: 'toggle-dynamic-features', arguments: { enabled: true } });
});
afterAll(async () => session.close());

describe('tool annotations and icons', () => {
  it('every tool (the dynamic one included) has a title and all four behaviour hints', async () => {
    const { tools } = await session.client.listTools();
    expect(tools.length).toBeGreaterThanOrEqual(31);
    for (const tool of tools) {
      expect({ name: tool.name, annotations: tool.annotations }).toEqual({
        name: tool.name,
        annotations: {
          title: expect.any(String),
          readOnlyHint: expect.any(Boolean),
          destructiveHint: expect.any(Boolean),
          idempotentHint: expect.any(Boolean),
          openWorldHint: expect.any(Boolean),
        },
      });
      expect(tool.title).toBe(tool.annotations?.title);
      expect(tool.icons).toEqual(TOOL_ICONS);
    }
  });

  it('tool names follow the spec pattern (1-64 of A-Z a-z 0-9 _ - . /)', async () => {
    const { tools } = await session.client.listTools();
    for (const tool of tools) expect(tool.name).toMatch(/^[A-Za-z0-9_./-]{1,64}$/);
    expect(new Set(tools.map((tool) => tool.name)).size).toBe(tools.length);
  });

  it('marks the switches as writing and the plain tools as read-only', async () => {
    const { tools } = await session.client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool.annotations]));
    expect(byName.get('echo')).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
    expect(byName.get('toggle-dynamic-features')).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(byName.get('sampleLLM')).toMatchObject({ readOnlyHint: true, openWorldHint: true });
  });
});

describe('icons', () => {
  it('are one small data: URI each: a 16x16 PNG per kind', () => {
    for (const icons of [TOOL_ICONS, PROMPT_ICONS, RESOURCE_ICONS]) {
      expect(icons.map((icon) => [icon.mimeType, icon.sizes])).toEqual([['image/png', ['16x16']]]);
      const png = Buffer.from(icons[0]!.src.replace(/^data:image\/png;base64,/, ''), 'base64');
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([16, 16]); // width and height in IHDR
      expect(icons[0]!.src.length).toBeLessThan(250);
    }
    expect(new Set([TOOL_ICONS[0]!.src, PROMPT_ICONS[0]!.src, RESOURCE_ICONS[0]!.src]).size).toBe(3);
  });

  it('are on every prompt', async () => {
    const { prompts } = await session.client.listPrompts();
    for (const prompt of prompts) expect({ name: prompt.name, icons: prompt.icons }).toEqual({ name: prompt.name, icons: PROMPT_ICONS });
  });

  it('are on every listed resource and template', async () => {
    const { resources } = await session.client.listResources();
    const { resourceTemplates } = await session.client.listResourceTemplates();
    for (const entry of [...resources, ...resourceTemplates]) expect(entry.icons).toEqual(RESOURCE_ICONS);
  });

  it('are on the server itself', () => {
    expect(session.client.getServerVersion()).toMatchObject({ name: 'mcp-everything-server', icons: TOOL_ICONS });
  });
});
