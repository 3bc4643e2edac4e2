import type { Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { RESOURCE_ICONS } from '../icons.js';
import { TINY_IMAGE_MIME_TYPE, TINY_IMAGE_PNG_BASE64 } from '../tiny-image.js';
import type { StaticResourceContents } from './static-resources.js';

/**
 * The resources the official conformance suite (`@modelcontextprotocol/conformance`,
 * server mode) reads and subscribes to. Built once per process.
 */

export const STATIC_TEXT_URI = 'test://static-text';
export const STATIC_BINARY_URI = 'test://static-binary';
export const WATCHED_RESOURCE_URI = 'test://watched-resource';
export const FIXTURE_TEMPLATE_URI_TEMPLATE = 'test://template/{id}/data';

const STATIC_TEXT: StaticResourceContents = Object.freeze({
  uri: STATIC_TEXT_URI,
  mimeType: 'text/plain',
  text: 'This is the content of the static text resource.',
});

const STATIC_BINARY: StaticResourceContents = Object.freeze({
  uri: STATIC_BINARY_URI,
  mimeType: TINY_IMAGE_MIME_TYPE,
  blob: TINY_IMAGE_PNG_BASE64,
});

/** Listing entries of the fixed conformance resources. */
export const CONFORMANCE_RESOURCES: readonly Resource[] = Object.freeze([
  Object.freeze({
    uri: STATIC_TEXT_URI,
    name: 'static-text',
    title: 'Static Text Resource',
    description: 'A fixed text resource (conformance fixture)',
    mimeType: 'text/plain',
    icons: RESOURCE_ICONS,
  }),
  Object.freeze({
    uri: STATIC_BINARY_URI,
    name: 'static-binary',
    title: 'Static Binary Resource',
    description: 'A fixed PNG image as a base64 blob (conformance fixture)',
    mimeType: TINY_IMAGE_MIME_TYPE,
    icons: RESOURCE_ICONS,
  }),
  Object.freeze({
    uri: WATCHED_RESOURCE_URI,
    name: 'watched-resource',
    title: 'Watched Resource',
    description:
      'A resource that changes over time; subscribe to it and switch on toggle-subscriber-updates to be told (conformance fixture)',
    mimeType: 'text/plain',
    icons: RESOURCE_ICONS,
  }),
]);

export const FIXTURE_TEMPLATE: ResourceTemplate = Object.freeze({
  uriTemplate: FIXTURE_TEMPLATE_URI_TEMPLATE,
  name: 'template',
  title: 'Resource Template',
  description: 'JSON data for any id (letters, digits, "-", "_", "." or "~"; at most 64) (conformance fixture)',
  mimeType: 'application/json',
  icons: RESOURCE_ICONS,
});

/** An id is one URI path segment of unreserved characters, so the URI needs no decoding. */
const TEMPLATE_URI = /^test:\/\/template\/([A-Za-z0-9._~-]{1,64})\/data$/;

function templateContents(uri: string, id: string): StaticResourceContents {
  return {
    uri,
    mimeType: 'application/json',
    text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }),
  };
}

/** Contents of a conformance resource, or undefined when `uri` names none of them. */
export function findConformanceResource(uri: string, now: () => Date = () => new Date()): StaticResourceContents | undefined {
  switch (uri) {
    case STATIC_TEXT_URI:
      return STATIC_TEXT;
    case STATIC_BINARY_URI:
      return STATIC_BINARY;
    case WATCHED_RESOURCE_URI:
      // It "changes": every read tells the time it was read at.
      return { uri, mimeType: 'text/plain', text: `Watched resource content, read at ${now().toISOString()}.` };
  }
  const match = TEMPLATE_URI.exec(uri);
  return match ? templateContents(uri, match[1]!) : undefined;
}
