// Builds the served tracker: static/js/script.js plus precompressed .gz and .br
// siblings. The outputs are committed so the Rust server can embed them
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

/** Returns {js, gz, br} as Buffers for the given tracker source text. */
export async function buildBuffers(source) {
  const { code } = await transform(source, {
    minify: true,
    // Matches the syntax the source uses (optional chaining); older targets only add bytes.
    target: 'es2020',
    format: 'iife',
    legalComments: 'none',
    charset: 'utf8',
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
  const { js, gz, br } = await buildBuffers(await readFile(SOURCE, 'utf8'));
  await mkdir(OUT_DIR, { recursive: true });
  await writeFile(OUT, js);
  await writeFile(OUT + '.gz', gz);
  await writeFile(OUT + '.br', br);
  return { js, gz, br };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { js, gz, br } = await build();
  console.log(
    `static/js/script.js: ${js.length} B minified, ${gz.length} B gzip, ${br.length} B brotli`,
  );
}
