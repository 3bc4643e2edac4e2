import { findConformanceResource } from './conformance-resources.js';
import { findStaticResource, type StaticResourceContents } from './static-resources.js';

/**
 * Every resource the server can read: the 100 static resources (set A) and
 * the conformance fixtures, including instances of their template.
 */
export function findResource(uri: string): StaticResourceContents | undefined {
  return findStaticResource(uri) ?? findConformanceResource(uri);
}
