import type {
  BlobResourceContents,
  Resource,
  ResourceTemplate,
  TextResourceContents,
} from '@modelcontextprotocol/sdk/types.js';
import { RESOURCE_ICONS } from '../icons.js';

/**
 * The catalogue of 100 static test resources. Built once per process and
 * shared read-only by every session.
 */

export const STATIC_RESOURCE_COUNT = 100;
export const STATIC_RESOURCE_URI_PREFIX = 'test://static/resource/';

export const STATIC_RESOURCE_TEMPLATE: ResourceTemplate = Object.freeze({
  uriTemplate: `${STATIC_RESOURCE_URI_PREFIX}{id}`,
  name: 'Static Resource',
  description: 'A static resource with a numeric ID',
  icons: RESOURCE_ICONS,
});

export type StaticResourceContents = TextResourceContents | BlobResourceContents;

export function staticResourceUri(id: number): string {
  return `${STATIC_RESOURCE_URI_PREFIX}${id}`;
}

/** Odd ids are plain text, even ids are binary blobs. */
function buildContents(id: number): StaticResourceContents {
  const uri = staticResourceUri(id);
  if (id % 2 === 1) {
    return { uri, mimeType: 'text/plain', text: `Resource ${id}: This is a plaintext resource` };
  }
  return {
    uri,
    mimeType: 'application/octet-stream',
    blob: Buffer.from(`Resource ${id}: This is a base64 blob`).toString('base64'),
  };
}

const IDS = Array.from({ length: STATIC_RESOURCE_COUNT }, (_, index) => index + 1);

/** Listing entries (metadata only; contents come from resources/read). */
export const STATIC_RESOURCES: readonly Resource[] = Object.freeze(
  IDS.map((id) => {
    const contents = buildContents(id);
    return Object.freeze({ uri: contents.uri, name: `Resource ${id}`, mimeType: contents.mimeType, icons: RESOURCE_ICONS });
  }),
);

const CONTENTS_BY_URI: ReadonlyMap<string, StaticResourceContents> = new Map(
  IDS.map((id) => {
    const contents = Object.freeze(buildContents(id));
    return [contents.uri, contents] as const;
  }),
);

/** Contents of a resource by exact URI, or undefined when there is no such resource. */
export function findStaticResource(uri: string): StaticResourceContents | undefined {
  return CONTENTS_BY_URI.get(uri);
}

/** Contents of resource `id`, or undefined outside 1..100. */
export function staticResourceById(id: number): StaticResourceContents | undefined {
  return CONTENTS_BY_URI.get(staticResourceUri(id));
}

/** Whether `uri` is one of the 100 static resources (whose subscribers always get periodic updates). */
export function isStaticResourceUri(uri: string): boolean {
  return CONTENTS_BY_URI.has(uri);
}
