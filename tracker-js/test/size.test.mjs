// Guards the committed build: size budget, and that static/js/script.js (+ .gz,
// .br) is exactly what building the current source produces. The Rust server
// embeds those files, so a stale build would silently ship old behaviour.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync, gunzipSync, brotliDecompressSync } from 'node:zlib';
import { buildBuffers, SOURCE, OUT } from '../build.mjs';

const BUDGET_GZIP = 1024;

const committed = {
  js: readFileSync(OUT),
  gz: readFileSync(OUT + '.gz'),
  br: readFileSync(OUT + '.br'),
};

test(`static/js/script.js is at most ${BUDGET_GZIP} bytes gzipped`, () => {
  const size = gzipSync(committed.js, { level: 9 }).length;
  assert.ok(size <= BUDGET_GZIP, `gzipped size ${size} B exceeds ${BUDGET_GZIP} B`);
  assert.ok(committed.gz.length <= BUDGET_GZIP, `script.js.gz is ${committed.gz.length} B`);
});

test('committed build is up to date with src/tracker.js (run `npm run build`)', async () => {
  const fresh = await buildBuffers(readFileSync(SOURCE, 'utf8'));
  assert.ok(fresh.js.equals(committed.js), 'static/js/script.js is stale: run `npm run build` in tracker-js/');
  // The compressed siblings are checked by content, not bytes: another zlib
  // build (other Node version or CPU features) may legitimately pick a
  // different, equally valid encoding. Same-machine byte equality is checked
  // by the determinism test below.
  assert.ok(gunzipSync(committed.gz).equals(fresh.js), 'script.js.gz is stale: run `npm run build`');
  assert.ok(brotliDecompressSync(committed.br).equals(fresh.js), 'script.js.br is stale: run `npm run build`');
});

test('build is deterministic', async () => {
  const source = readFileSync(SOURCE, 'utf8');
  const [a, b] = [await buildBuffers(source), await buildBuffers(source)];
  for (const kind of ['js', 'gz', 'br']) assert.ok(a[kind].equals(b[kind]), kind);
});

test('minified output is one IIFE with no leftover globals or source comments', () => {
  const js = committed.js.toString();
  assert.match(js, /^\(\(\)=>\{.*\}\)\(\);\n?$/s);
  assert.doesNotMatch(js, /\/\/ |\/\*/);
});
