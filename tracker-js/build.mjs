// Builds the served tracker: static/js/script.js, the variant
// static/js/script.engagement.js (the same source with ENGAGEMENT defined as
// true) and the files Plausible snippets name (static/js/plausible/), each
// with precompressed .gz and .br siblings. The outputs are committed so the Rust server can embed them
// without Node; test/size.test.mjs checks they are up to date, which is why
// every step here must be deterministic (fixed esbuild options, no timestamps
// in the gzip header, fixed brotli parameters).
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { transform } from 'esbuild';
import { minify } from 'terser';

const here = dirname(fileURLToPath(import.meta.url));
export const SOURCE = join(here, 'src', 'tracker.js');
/** The source a build is made from: tracker.js unless it names another file in src/. */
export const sourceOf = (options) => (options.source ? join(here, 'src', options.source) : SOURCE);
export const OUT_DIR = join(here, '..', 'static', 'js');
export const OUT = join(OUT_DIR, 'script.js');

/** Every feature flag tracker.js knows (see its header); false unless a build says. */
export const FLAGS = ['ENGAGEMENT', 'COMPAT', 'PLAUSIBLE_ONLY', 'HASH', 'MANUAL', 'OUTBOUND', 'DOWNLOADS', 'FILES', 'TAGGED', 'PROPS', 'EXCLUSIONS', 'PA'];

/**
 * The extensions a Plausible script name may carry (`script.hash.outbound-links.js`), and the
 * flags each one turns on. `revenue` (the revenue option is always sent), `compat` (an old-IE
 * way of finding the script tag) and `local` (the server refuses localhost pages anyway) change
 * nothing, so they are served the build without them. src/web/tracker.rs reads the same names.
 */
export const PLAUSIBLE_EXTENSIONS = {
  exclusions: 'EXCLUSIONS',
  'file-downloads': 'FILES',
  hash: 'HASH',
  manual: 'MANUAL',
  'outbound-links': 'OUTBOUND',
  'pageview-props': 'PROPS',
  'tagged-events': 'TAGGED',
  compat: null,
  local: null,
  revenue: null,
};

/**
 * The default's 1 KiB holds footfall's core plus any one extension; some combinations of two
 * or more do not fit in it (tagged events, file downloads and exclusions are the big ones), so
 * combinations have a budget of their own. The README lists every file's size.
 */
export const COMBINATION_BUDGET = 1400;

/** One Plausible build per distinct set of flags, named by its extensions in this order. */
const plausibleBuilds = () => {
  const names = Object.keys(PLAUSIBLE_EXTENSIONS).filter((e) => PLAUSIBLE_EXTENSIONS[e]);
  const builds = {};
  for (let mask = 0; mask < 1 << names.length; mask++) {
    const chosen = names.filter((_, i) => mask & (1 << i));
    const file = ['plausible/script', ...chosen, 'js'].join('.');
    builds[file] = {
      flags: ['COMPAT', 'PLAUSIBLE_ONLY', ...chosen.map((e) => PLAUSIBLE_EXTENSIONS[e])],
      budget: chosen.length > 1 ? COMBINATION_BUDGET : 1024,
    };
  }
  return builds;
};

/**
 * The builds, by file name under static/js/: the flags each is built with, and the gzip budget
 * that test/size.test.mjs (and the Rust test tests/tracker.rs) enforce. script.js is footfall's
 * own (outbound links and downloads included) and also what Plausible's plain script.js
 * snippet gets; engagement does not fit in its 1 KiB, so it is opt-in. plausible/script.js is
 * what Plausible names with no extension that changes anything (script.local.js, say).
 */
export const VARIANTS = {
  'script.js': { flags: ['COMPAT', 'OUTBOUND', 'DOWNLOADS'], budget: 1024 },
  'script.engagement.js': { flags: ['ENGAGEMENT', 'OUTBOUND', 'DOWNLOADS'], budget: 1280 },
  ...plausibleBuilds(),
  // Plausible's per-site pa-*.js: pageviews and custom events, with the plausible.init() options
  // footfall has (tagged events, outbound links and downloads do not fit in its 1 KiB too).
  'plausible/pa.js': { flags: ['COMPAT', 'PLAUSIBLE_ONLY', 'PA'], budget: 1024 },
  // What Umami's snippet loads (served at /script.js): src/umami.js.
  'umami.js': { source: 'umami.js', flags: [], budget: 1024 },
};

/** Returns {js, gz, br} as Buffers for the given tracker source text. */
export async function buildBuffers(source, { flags = [] } = {}) {
  const { code } = await transform(source, {
    minify: true,
    // Matches the syntax the source uses (optional chaining); older targets only add bytes.
    target: 'es2020',
    format: 'iife',
    legalComments: 'none',
    charset: 'utf8',
    // Minification removes each `if (false) {...}` block whole.
    define: Object.fromEntries(FLAGS.map((flag) => [flag, String(flags.includes(flag))])),
  });
  // esbuild drops the `if (false)` blocks but keeps the variables only they
  // used and `false || x` chains; terser's compressor removes those too, so a
  // build carries none of the bytes of the features it is built without.
  const shrunk = await minify(code, {
    ecma: 2020,
    compress: { passes: 3, unsafe_arrows: true },
    mangle: true,
    format: { comments: false },
  });
  const js = Buffer.from(shrunk.code + '\n');
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
  await mkdir(OUT_DIR, { recursive: true });
  const built = {};
  for (const [name, options] of Object.entries(VARIANTS)) {
    const source = await readFile(sourceOf(options), 'utf8');
    const { js, gz, br } = (built[name] = await buildBuffers(source, options));
    const out = join(OUT_DIR, name);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, js);
    await writeFile(out + '.gz', gz);
    await writeFile(out + '.br', br);
  }
  return built;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [name, { js, gz, br }] of Object.entries(await build())) {
    const budget = VARIANTS[name].budget;
    const over = gz.length > budget ? `  OVER ${budget}` : '';
    console.log(`static/js/${name}: ${js.length} B minified, ${gz.length} B gzip, ${br.length} B brotli${over}`);
  }
}
