// Builds the served tracker: static/js/script.js and the variant
// static/js/script.engagement.js (the same source with ENGAGEMENT defined as
// true), each with precompressed .gz and .br siblings. The outputs are committed so the Rust server can embed them
// without Node; test/size.test.mjs checks they are up to date, which is why
// every step here must be deterministic (fixed esbuild options, no timestamps
// in the gzip header, fixed brotli parameters).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { transform } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const SOURCE = join(here, 'src', 'tracker.js');
export const OUT_DIR = join(here, '..', 'static', 'js');
export const OUT = join(OUT_DIR, 'script.js');

/**
 * The builds, by file name: what ENGAGEMENT is defined as, and the gzip budget
 * that test/size.test.mjs (and the Rust test tests/tracker.rs) enforce.
 * Engagement does not fit in the default script's 1 KiB, so it is opt-in.
 */
export const VARIANTS = {
  'script.js': { engagement: false, budget: 1024 },
  'script.engagement.js': { engagement: true, budget: 1280 },
};

/** Returns {js, gz, br} as Buffers for the given tracker source text. */
export async function buildBuffers(source, { engagement = false } = {}) {
  const { code } = await transform(source, {
    minify: true,
    // Matches the syntax the source uses (optional chaining); older targets only add bytes.
    target: 'es2020',
    format: 'iife',
    legalComments: 'none',
    charset: 'utf8',
    // Minification removes the `if (false) {...}` block whole.
    define: { ENGAGEMENT: String(engagement) },
  });
  const js = Buffer.from(code);
  // Node's gzip header has mtime 0 and a fixed OS byte, so this is stable.
  const gz = gzipSync(js, { level: 9 });
  const br = brotliCompressSync(js, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: js.length,
    },
  });
  return { js, gz, br };
}

export async function build() {
  const source = await readFile(SOURCE, 'utf8');
  await mkdir(OUT_DIR, { recursive: true });
  const built = {};
  for (const [name, options] of Object.entries(VARIANTS)) {
    const { js, gz, br } = (built[name] = await buildBuffers(source, options));
    const out = join(OUT_DIR, name);
    await writeFile(out, js);
    await writeFile(out + '.gz', gz);
    await writeFile(out + '.br', br);
  }
  return built;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, { js, gz, br }] of Object.entries(await build())) {
    console.log(`static/js/${name}: ${js.length} B minified, ${gz.length} B gzip, ${br.length} B brotli`);
  }
}
