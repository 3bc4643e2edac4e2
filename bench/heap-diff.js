// Compares two V8 heap snapshots of one process (e.g. from
// BENCH_LISTEN_HEAP_SNAPSHOTS=dir): what the heap gained, per unit (a stream, a
// session), by kind of object, and how many hidden classes (maps) the common
// per-request objects use. Usage:
//   node bench/heap-diff.js <before.heapsnapshot> <after.heapsnapshot> <units> [top=30]
import { readFileSync } from 'node:fs';

const [beforeFile, afterFile, unitsArg, topArg] = process.argv.slice(2);
if (!beforeFile || !afterFile || !unitsArg) {
  console.error('usage: node bench/heap-diff.js <before.heapsnapshot> <after.heapsnapshot> <units> [top]');
  process.exit(1);
}
const units = Number(unitsArg);
const top = Number(topArg ?? 30);
/** Objects whose hidden classes are counted: one map shared by all is the norm. */
const MAP_WATCH = new Set(['ServerResponse', 'IncomingMessage', 'Socket', 'AbortSignal', 'AbortController', 'EventTarget']);

function read(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snapshot.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const at = (name) => meta.node_fields.indexOf(name);
  const [iType, iName, iSize, iEdges] = ['type', 'name', 'self_size', 'edge_count'].map(at);
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const { nodes, edges, strings } = snapshot;
  const kinds = new Map();
  const maps = new Map();
  let edge = 0;
  for (let i = 0; i < nodes.length; i += nodeFields) {
    const type = nodeTypes[nodes[i + iType]];
    const name = strings[nodes[i + iName]];
    let kind;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') kind = `${type}`;
    else if (type === 'closure') kind = 'closure';
    else if (type === 'code') kind = 'code';
    else kind = `${type}: ${name}`.slice(0, 80);
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[i + iSize];
    kinds.set(kind, entry);
    const edgeCount = nodes[i + iEdges];
    if (type === 'object' && MAP_WATCH.has(name)) {
      for (let k = 0; k < edgeCount; k += 1) {
        const e = edge + k * edgeFields;
        if (edgeTypes[edges[e + eType]] !== 'element' && strings[edges[e + eName]] === 'map') {
          const seen = maps.get(name) ?? { objects: 0, maps: new Set() };
          seen.objects += 1;
          seen.maps.add(edges[e + eTo]);
          maps.set(name, seen);
        }
      }
    }
    edge += edgeCount * edgeFields;
  }
  return { kinds, maps };
}

const before = read(beforeFile);
const after = read(afterFile);
const rows = [...after.kinds].map(([kind, a]) => {
  const b = before.kinds.get(kind) ?? { count: 0, bytes: 0 };
  return { kind, count: (a.count - b.count) / units, bytes: (a.bytes - b.bytes) / units };
});
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
console.log(`${afterFile} against ${beforeFile}, per unit of ${units}: ${total.toFixed(0)} bytes of self size`);
console.log('\n  bytes   count  kind');
for (const r of rows.sort((x, y) => y.bytes - x.bytes).slice(0, top)) {
  console.log(`${r.bytes.toFixed(0).padStart(7)} ${r.count.toFixed(2).padStart(7)}  ${r.kind}`);
}
console.log('\nhidden classes (maps) of per-request objects, with the units open');
for (const [name, seen] of after.maps) console.log(`  ${name}: ${seen.objects} objects, ${seen.maps.size} distinct maps`);
