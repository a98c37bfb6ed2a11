// Guards the committed builds: size budgets, and that each static/js file (+
// .gz, .br) is exactly what building the current source produces. The Rust
// server embeds those files, so a stale build would silently ship old behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync, brotliDecompressSync } from 'node:zlib';
import { buildBuffers, sourceOf, OUT_DIR, VARIANTS, PLAUSIBLE_EXTENSIONS, FLAGS } from '../build.mjs';

test('the default script.js keeps its 1,024 B budget', () => {
  assert.equal(VARIANTS['script.js'].budget, 1024);
  assert.ok(!VARIANTS['script.js'].flags.includes('ENGAGEMENT'));
});

test('every Plausible file with at most one extension, and pa-*.js, keeps the 1,024 B budget', () => {
  const singles = Object.keys(VARIANTS).filter((name) => /^plausible\/(script(\.[a-z-]+)?\.js|pa\.js)$/.test(name));
  assert.equal(singles.length, 1 + Object.values(PLAUSIBLE_EXTENSIONS).filter(Boolean).length + 1);
  for (const name of singles) assert.equal(VARIANTS[name].budget, 1024, name);
});

test('one Plausible build per set of extensions that changes something', () => {
  const flags = Object.values(PLAUSIBLE_EXTENSIONS).filter(Boolean);
  const builds = Object.keys(VARIANTS).filter((name) => name.startsWith('plausible/script'));
  assert.equal(builds.length, 2 ** flags.length);
  assert.equal(new Set(builds.map((name) => VARIANTS[name].flags.sort().join())).size, builds.length);
});

for (const [name, options] of Object.entries(VARIANTS)) {
  const out = join(OUT_DIR, name);
  const committed = {
    js: readFileSync(out),
    gz: readFileSync(out + '.gz'),
    br: readFileSync(out + '.br'),
  };

  test(`static/js/${name} is at most ${options.budget} bytes gzipped`, () => {
    const size = gzipSync(committed.js, { level: 9 }).length;
    assert.ok(size <= options.budget, `gzipped size ${size} B exceeds ${options.budget} B`);
    assert.ok(committed.gz.length <= options.budget, `${name}.gz is ${committed.gz.length} B`);
  });

  test(`committed ${name} is up to date with src/tracker.js (run \`npm run build\`)`, async () => {
    const fresh = await buildBuffers(readFileSync(sourceOf(options), 'utf8'), options);
    assert.ok(fresh.js.equals(committed.js), `static/js/${name} is stale: run \`npm run build\` in tracker-js/`);
    // The compressed siblings are checked by content, not bytes: another zlib
    // build (other Node version or CPU features) may legitimately pick a
    // different, equally valid encoding. Same-machine byte equality is checked
    // by the determinism test below.
    assert.ok(gunzipSync(committed.gz).equals(fresh.js), `${name}.gz is stale: run \`npm run build\``);
    assert.ok(brotliDecompressSync(committed.br).equals(fresh.js), `${name}.br is stale: run \`npm run build\``);
  });

  test(`${name}: build is deterministic`, async () => {
    const source = readFileSync(sourceOf(options), 'utf8');
    const [a, b] = [await buildBuffers(source, options), await buildBuffers(source, options)];
    for (const kind of ['js', 'gz', 'br']) assert.ok(a[kind].equals(b[kind]), kind);
  });

  test(`${name}: minified output is one IIFE with no leftover globals or source comments`, () => {
    const js = committed.js.toString();
    assert.match(js, /^\(\(\)=>\{.*\}\)\(\);\n?$/s);
    assert.doesNotMatch(js, /\/\/ |\/\*/);
    for (const flag of FLAGS) assert.doesNotMatch(js, new RegExp(`\\b${flag}\\b`));
  });
}

test('script.js has no engagement code; script.engagement.js has', () => {
  const read = (name) => readFileSync(join(OUT_DIR, name), 'utf8');
  assert.doesNotMatch(read('script.js'), /engagement|hasFocus/);
  assert.match(read('script.engagement.js'), /"engagement"/);
});
