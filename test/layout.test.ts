/**
 * The rules the source tree keeps (docs/architecture.md, "Module layout"): which
 * layer may import which, and who may publish to a session. Read from the
 * sources themselves: a change that breaks a rule fails here, naming the import.
 */
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve('src');

interface SourceFile {
  /** Path under src/, with forward slashes. */
  name: string;
  text: string;
  /** What it imports from the project, as paths under src/ (e.g. `store/bus.ts`). */
  imports: string[];
}

function sources(): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        const text = fs.readFileSync(full, 'utf8');
        // Static imports and re-exports, side-effect imports and dynamic import(), either quote.
        const specifiers = [
          ...text.matchAll(/(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g),
          ...text.matchAll(/import\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g),
        ].map((match) => match[1]!);
        const imports = [...new Set(specifiers)].map((specifier) =>
          path.relative(SRC, path.resolve(path.dirname(full), specifier)).split(path.sep).join('/').replace(/\.js$/, '.ts'),
        );
        files.push({ name: path.relative(SRC, full).split(path.sep).join('/'), text, imports });
      }
    }
  };
  walk(SRC);
  return files;
}

const files = sources();
const under = (prefix: string) => files.filter((file) => file.name.startsWith(prefix));

/** Every import from a file under `from` into a path under one of `forbidden`, as "file → import". */
function crossings(from: string, forbidden: string[]): string[] {
  return under(from).flatMap((file) =>
    file.imports.filter((target) => forbidden.some((prefix) => target.startsWith(prefix))).map((target) => `${file.name} → ${target}`),
  );
}

test('the tree has the layers the rules speak of', () => {
  for (const layer of ['protocol/', 'store/', 'sessions/owner/', 'sessions/edge/', 'sessions/streams/', 'http/', 'auth/', 'tasks/', 'mcp/', 'modern/']) {
    expect(under(layer).length).toBeGreaterThan(0);
  }
  // The scan sees imports at all (a broken pattern would make every rule below pass).
  expect(files.find((file) => file.name === 'http/mcp-post.ts')?.imports).toContain('runtime.ts');
});

test('http/ never imports store/', () => {
  expect(crossings('http/', ['store/'])).toEqual([]);
});

test('auth/ imports neither http/ nor sessions/ (nor the runtime that wires them)', () => {
  expect(crossings('auth/', ['http/', 'sessions/', 'runtime.ts'])).toEqual([]);
});

test('sessions/ imports neither http/ nor the runtime that wires it', () => {
  expect(crossings('sessions/', ['http/', 'runtime.ts'])).toEqual([]);
});

test('store/ imports no domain module', () => {
  expect(crossings('store/', ['tasks/', 'sessions/', 'auth/', 'http/', 'mcp/', 'modern/', 'runtime.ts'])).toEqual([]);
});

test('protocol/ imports nothing of the project but itself', () => {
  expect(under('protocol/').flatMap((file) => file.imports.filter((target) => !target.startsWith('protocol/')).map((target) => `${file.name} → ${target}`))).toEqual([]);
});

test('only sessions/edge publishes to a session (its to-server and control channels); the owner only listens there', () => {
  const naming = files.filter((file) => /channels\.(toServer|control)\(/.test(file.text)).map((file) => file.name);
  expect(naming.filter((name) => !name.startsWith('sessions/edge/') && name !== 'sessions/owner/owned-session.ts')).toEqual([]);
  const owner = files.find((file) => file.name === 'sessions/owner/owned-session.ts')!;
  expect(owner.text).not.toMatch(/publish\(\s*channels\.(toServer|control)\(/);
});
