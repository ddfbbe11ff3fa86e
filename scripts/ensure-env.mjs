#!/usr/bin/env node
/**
 * Makes a fresh Debian/Ubuntu machine ready for `npm test` and `npm run bench`, and is silent when
 * it already is. Plain Node, no dependencies: it runs before node_modules exists.
 *
 * 1. node_modules: `npm ci` when it is missing, or older than package-lock.json and different from it.
 * 2. Chromium for test/browser.test.ts: CHROMIUM_PATH, else /usr/bin/chromium, /usr/bin/chromium-browser.
 * 3. Mesa's EGL/GLES and its software (llvmpipe) driver for the Node path: Dawn's OpenGL ES backend
 *    (see docs/cpu-adapters.md). Debian installs them with chromium.
 * Missing system packages are installed with apt-get when running as root; otherwise it exits
 * non-zero and says what to install.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => console.log(`ensure-env: ${line}`);

function fail(message) {
  console.error(`ensure-env: ${message}`);
  process.exit(1);
}

function run(cmd, args, env = process.env) {
  say(`running ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit', env });
  if (r.error) fail(`${cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) fail(`${[cmd, ...args].join(' ')} failed (exit ${r.status ?? r.signal})`);
}

// --- Node itself ---------------------------------------------------------------------------------
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  fail(`Node ${process.versions.node} is too old: this package needs Node >= 20.19 (vite 7, vitest 4)`);
}

// --- node_modules --------------------------------------------------------------------------------
/** Why node_modules does not match package-lock.json, or null when it does. */
function nodeModulesProblem() {
  const lockPath = join(ROOT, 'package-lock.json');
  const hiddenPath = join(ROOT, 'node_modules', '.package-lock.json');
  if (!existsSync(join(ROOT, 'node_modules'))) return 'node_modules is missing';
  if (!existsSync(hiddenPath)) return 'node_modules was not installed by npm (no .package-lock.json)';
  if (statSync(lockPath).mtimeMs <= statSync(hiddenPath).mtimeMs) return null;
  // package-lock.json is newer, which a checkout or `npm install` can cause without any change:
  // compare what it pins with what is installed before wiping node_modules.
  const want = JSON.parse(readFileSync(lockPath, 'utf8')).packages ?? {};
  const have = JSON.parse(readFileSync(hiddenPath, 'utf8')).packages ?? {};
  for (const [key, entry] of Object.entries(want)) {
    if (key === '' || entry.link) continue;
    if (!have[key]) {
      if (entry.optional) continue; // another platform's binary (esbuild, rollup)
      return `package-lock.json pins ${key} but it is not installed`;
    }
    if (have[key].version !== entry.version) {
      return `package-lock.json pins ${key} ${entry.version}, installed is ${have[key].version}`;
    }
  }
  for (const key of Object.keys(have)) {
    if (!want[key]) return `${key} is installed but not in package-lock.json`;
  }
  return null;
}

if (existsSync(join(ROOT, 'package-lock.json'))) {
  const problem = nodeModulesProblem();
  if (problem) {
    say(problem);
    run('npm', ['ci']);
  }
} else if (!existsSync(join(ROOT, 'node_modules'))) {
  say('no package-lock.json and no node_modules');
  run('npm', ['install']);
}

// --- system packages (Linux) -------------------------------------------------------------------
if (process.platform !== 'linux') {
  if (!process.env.CHROMIUM_PATH) say(`not Linux: set CHROMIUM_PATH to a Chromium or Chrome for the browser tests`);
  process.exit(0);
}

function findChromium() {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) fail(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;
}

const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
];

let ldconfigCache = null;
/** Library names in the dynamic linker's cache (`ldconfig -p`), or an empty set without ldconfig. */
function ldconfigNames() {
  if (ldconfigCache) return ldconfigCache;
  ldconfigCache = new Set();
  for (const bin of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    const r = spawnSync(bin, ['-p'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    for (const line of r.stdout.split('\n')) {
      const m = /^\s+(\S+)\s/.exec(line);
      if (m) ldconfigCache.add(m[1]);
    }
    break;
  }
  return ldconfigCache;
}

const hasLib = (name) => ldconfigNames().has(name) || LIB_DIRS.some((d) => existsSync(join(d, name)));

/** Debian package -> whether what the Node path needs from it is present. */
const MESA = {
  libegl1: () => hasLib('libEGL.so.1'),
  libgles2: () => hasLib('libGLESv2.so.2'),
  'libegl-mesa0': () => hasLib('libEGL_mesa.so.0'),
  'libgl1-mesa-dri': () => LIB_DIRS.some((d) => existsSync(join(d, 'dri', 'swrast_dri.so'))),
};

function missingPackages() {
  const missing = [];
  if (!findChromium()) missing.push('chromium');
  for (const [pkg, present] of Object.entries(MESA)) if (!present()) missing.push(pkg);
  return missing;
}

const missing = missingPackages();
if (missing.length > 0) {
  say(`missing: ${missing.join(', ')}`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    fail(
      `install them with \`sudo apt-get install -y ${missing.join(' ')}\`` +
        (missing.includes('chromium') ? ' (or point CHROMIUM_PATH at a Chromium or Chrome binary)' : ''),
    );
  }
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    fail(`no apt-get on this machine: install ${missing.join(', ')} (or their equivalents) by hand`);
  }
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update'], aptEnv);
  run('apt-get', ['install', '-y', ...missing], aptEnv);
  ldconfigCache = null;
  const still = missingPackages();
  if (still.length > 0) fail(`still missing after apt-get install: ${still.join(', ')}`);
  say('system packages installed');
}
