import type { Icon } from '@modelcontextprotocol/sdk/types.js';

/**
 * Icons for tools, prompts, resources and the server itself: one tiny 16×16
 * PNG per kind (PNG is the format every client that shows icons must support),
 * as a data: URI built once per process and shared by every listing. They cost
 * no memory per session and about 200 bytes per listed item.
 */

function pngDataUri(base64: string): string {
  return `data:image/png;base64,${base64}`;
}

/** Typed mutable for the SDK's types; frozen at run time because every session shares it. */
function iconSet(pngBase64: string): Icon[] {
  return Object.freeze([Object.freeze({ src: pngDataUri(pngBase64), mimeType: 'image/png', sizes: ['16x16'] })]) as Icon[];
}

/** A "T" on blue: tools. */
export const TOOL_ICONS = iconSet(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAQMAAAAlPW0iAAAABlBMVEUAAAArbLCTVofpAAAAAXRSTlMAQObYZgAAAB5JREFUeNpjYGBgYH/AwP+BgceAgbEBO2I+AEJgAADDYAexhAM3gQAAAABJRU5ErkJggg==',
);

/** A speech bubble on green: prompts. */
export const PROMPT_ICONS = iconSet(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAQMAAAAlPW0iAAAABlBMVEUAAAAvhVpbPGz2AAAAAXRSTlMAQObYZgAAACdJREFUeNpjYGBgqP/H4MDEEP8LTD4Ck00gsq6OgamBgZmBgYkBDgDtDAeEIDI5oAAAAABJRU5ErkJggg==',
);

/** A page with a folded corner on orange: resources and resource templates. */
export const RESOURCE_ICONS = iconSet(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQAQMAAAAlPW0iAAAABlBMVEUAAACwWiuM0QtBAAAAAXRSTlMAQObYZgAAACZJREFUeNpjYGBgkH/AIGDAIKDBIGDDIP6LQYAJlXwEIuX/MYABALICB1XKoNUYAAAAAElFTkSuQmCC',
);

/** The server's own icon (serverInfo.icons): the tool icon set. */
export const SERVER_ICONS = TOOL_ICONS;
