// Summarises a V8 .cpuprofile (from BENCH_SERVER_NODE_ARGS="--cpu-prof ..."):
// self time by function and by package / source file. Usage:
//   node bench/profile-summary.js <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-summary.js <file.cpuprofile> [top]');
  process.exit(1);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8'));

/** Self time per node id, from the sample timeline. */
function selfTimes() {
  const times = new Map();
  profile.samples.forEach((id, i) => {
    times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return times;
}

/** node_modules/<pkg>, our dist/<dir>/<file>, node:internal, or the VM's own entries. */
function where(url) {
  if (!url) return '(native / VM)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const ours = /\/dist\/(.+)$/.exec(url);
  if (ours) return `ours: ${ours[1]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

const times = selfTimes();
const total = [...times.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map();
const byPlace = new Map();
for (const node of profile.nodes) {
  const t = times.get(node.id) ?? 0;
  if (t === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const place = where(url);
  const fn = `${functionName || '(anonymous)'}  [${place}${url ? `:${lineNumber + 1}` : ''}]`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + t);
  byPlace.set(place, (byPlace.get(place) ?? 0) + t);
}

const pct = (t) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
const print = (title, map) => {
  console.log(`\n${title}`);
  for (const [name, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${name}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s of samples`);
print('self time by package / file', byPlace);
print('self time by function', byFunction);
