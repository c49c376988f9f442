// Small web-app images built offline (no registry) for the action to deploy. Every app image sits on
// one shared base (busybox rootfs + optional padding layers), so two versions differ only in their
// small top layer, as real app releases mostly do.
import { createCipheriv, createHash } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { copyFile, link, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CONTAINERD_DOCKER_HOST, classicDocker, containerdDocker, hostDocker, readSandboxInfo, runCommand, runnerDocker, type ExecOptions,
  type ExecResult
} from './sandbox.js'

/**
 * containerd: the engine on Docker's containerd image store, which builds with BuildKit;
 * classic: Docker 26 on the classic store, built with the classic builder like the 20.10 engines.
 */
export type Engine = 'runner' | 'host' | 'containerd' | 'classic'
/**
 * crash: exits 3 at boot; crash-markup: fails to boot after printing HTML and a Markdown link,
 * as a hostile or careless app could; unhealthy: /health answers 500; websocket: /ws answers 101
 * Switching Protocols and then echoes what it is sent, as a WebSocket endpoint keeps a connection.
 */
export type AppVariant = 'ok' | 'crash' | 'crash-markup' | 'unhealthy' | 'websocket' | 'flaky'

export interface AppOptions {
  /** Image reference; a bare tag without ':' becomes `bluegreen-sandbox/app:<tag>`. */
  tag: string
  /** Served as `version=<version>` on `/`. */
  version: string
  variant?: AppVariant
  /** Adds a Dockerfile HEALTHCHECK (every 1 s) on /health. */
  healthcheck?: boolean
  /** EXPOSEd ports; default [port]. */
  expose?: number[]
  /** Port the app listens on; default 8080. */
  port?: number
  /** Compressible filler in the shared base, in MiB. */
  paddingMiB?: number
  /** Incompressible (but deterministic) filler in its own base layer, in MiB. */
  randomPaddingMiB?: number
  /** Engine to build on; default 'runner' (where the action finds images to ship). */
  engine?: Engine
}

export interface BuiltImage {
  ref: string
  id: string
  sizeBytes: number
}

/** Cached, deterministic inputs of fixture images (tars, the Node binary), shared by every checkout. */
export const CACHE_DIR = '/var/lib/bluegreen-sandbox/fixtures'
const BUILD_TIMEOUT_MS = 300_000
const MiB = 1024 * 1024

export function docker(engine: Engine, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (engine === 'containerd') return containerdDocker(args, opts)
  if (engine === 'classic') return classicDocker(args, opts)
  return engine === 'host' ? hostDocker(args, opts) : runnerDocker(args, opts)
}

// The containerd-store engine runs in a mount namespace rooted in its own Debian tree, whose
// docker CLI has buildx: builds run there, from a context inside that tree.
const CONTAINERD_TREE = '/var/lib/bluegreen-sandbox/trixie'
const CONTAINERD_DOCKERD_PID = '/run/bluegreen-sandbox/containerd/docker.pid'

/** Where a build context for `engine` must live. */
export function contextParent(engine: Engine): string {
  return engine === 'containerd' ? join(CONTAINERD_TREE, 'tmp') : tmpdir()
}

export async function mustDocker(engine: Engine, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await docker(engine, args, opts)
  if (r.code !== 0) throw new Error(`${engine} engine: docker ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`)
  return r
}

/**
 * The classic builder, where the CLI has no buildx and it needs nothing from a registry; on the
 * containerd-store engine BuildKit (as users build), whose layers that store keeps gzipped.
 */
export async function build(engine: Engine, context: string, tag: string, extra: string[] = []): Promise<ExecResult> {
  if (engine !== 'containerd') {
    return mustDocker(engine, ['build', '-q', '--force-rm', ...extra, '-t', tag, context], {
      env: { DOCKER_BUILDKIT: '0' },
      timeoutMs: BUILD_TIMEOUT_MS
    })
  }
  const pid = (await readFile(CONTAINERD_DOCKERD_PID, 'utf8')).trim()
  const inside = context.slice(CONTAINERD_TREE.length)
  const r = await runCommand('nsenter', ['--mount', `--target=${pid}`, '--', 'env', `DOCKER_HOST=${CONTAINERD_DOCKER_HOST}`,
    'docker', 'buildx', 'build', '--provenance=false', '-q', '-t', tag, inside], { timeoutMs: BUILD_TIMEOUT_MS })
  if (r.code !== 0) throw new Error(`containerd engine: docker buildx build ${tag} failed (exit ${r.code}): ${r.stderr.trim()}`)
  return r
}

/** Hard link when possible (same file system), so the build context costs nothing. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  await link(from, to).catch(() => copyFile(from, to))
}

/** Deterministic tar (order, owner, mtime pinned) of DIR's contents: same files, same layer. */
export async function detTar(dir: string, out: string, entries: string[]): Promise<void> {
  const r = await runCommand('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--mode=go-w,a+rX',
    '-C', dir, '-cf', out, ...entries])
  if (r.code !== 0) throw new Error(`tar -cf ${out} failed: ${r.stderr.trim()}`)
}

export function appRef(tag: string): string {
  return tag.includes(':') ? tag : `bluegreen-sandbox/app:${tag}`
}

// ------------------------------------------------------------------------------------ base image
export function baseRef(paddingMiB = 0, randomPaddingMiB = 0): string {
  return `bluegreen-sandbox/app-base:p${paddingMiB}-r${randomPaddingMiB}`
}

/** Writes `bytes` bytes made by `chunk(size)` (called per MiB) into path. */
async function writeChunks(path: string, bytes: number, chunk: (size: number) => Buffer): Promise<void> {
  const out = createWriteStream(path)
  for (let left = bytes; left > 0; left -= MiB) {
    if (!out.write(chunk(Math.min(MiB, left)))) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

/** Text that gzip shrinks well but not to nothing: numbered lines. */
function textChunks(): (size: number) => Buffer {
  let line = 0
  return (size) => {
    let s = ''
    while (s.length < size) s += `bluegreen sandbox padding line ${String(line++).padStart(9, '0')}\n`
    return Buffer.from(s.slice(0, size))
  }
}

/** AES-CTR keystream from a fixed key: incompressible, yet the same bytes on every rebuild. */
function randomChunks(): (size: number) => Buffer {
  const key = createHash('sha256').update('bluegreen-sandbox padding').digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  return (size) => cipher.update(Buffer.alloc(size))
}

/**
 * A cached, deterministic tar holding /<dir>/filler.bin: fixed mtime and owner, so each rebuild of
 * the base (on either engine) yields byte-identical layers.
 */
async function paddingTar(kind: 'text' | 'random', mib: number): Promise<string> {
  const name = `padding-${kind}-${mib}MiB.tar`
  const final = join(CACHE_DIR, name)
  if (await stat(final).then(() => true, () => false)) return final
  await mkdir(CACHE_DIR, { recursive: true })
  const stage = await mkdtemp(join(CACHE_DIR, 'stage-'))
  try {
    const dir = join(stage, `padding-${kind}`)
    await mkdir(dir)
    await writeChunks(join(dir, 'filler.bin'), mib * MiB, kind === 'text' ? textChunks() : randomChunks())
    const tmp = join(stage, name)
    await detTar(stage, tmp, [`padding-${kind}`])
    await rename(tmp, final) // atomic: concurrent builders write the same bytes
  } finally {
    await rm(stage, { recursive: true, force: true })
  }
  return final
}

async function ensureBase(engine: Engine, paddingMiB: number, randomPaddingMiB: number): Promise<string> {
  const ref = baseRef(paddingMiB, randomPaddingMiB)
  if ((await docker(engine, ['image', 'inspect', ref])).code === 0) return ref
  const ctx = await mkdtemp(join(contextParent(engine), 'bgs-base-'))
  try {
    const lines = ['FROM scratch', 'ADD busybox.tar /']
    await linkOrCopy(readSandboxInfo().busyboxRootfs, join(ctx, 'busybox.tar'))
    if (paddingMiB > 0) {
      await linkOrCopy(await paddingTar('text', paddingMiB), join(ctx, 'padding-text.tar'))
      lines.push('ADD padding-text.tar /')
    }
    if (randomPaddingMiB > 0) {
      await linkOrCopy(await paddingTar('random', randomPaddingMiB), join(ctx, 'padding-random.tar'))
      lines.push('ADD padding-random.tar /')
    }
    await writeFile(join(ctx, 'Dockerfile'), lines.join('\n') + '\n')
    await build(engine, ctx, ref)
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
  return ref
}

// ------------------------------------------------------------------------------------- app files
function cgi(body: string): string {
  return `#!/bin/sh\n${body}`
}

/** The files under /app, keyed by path relative to /app. Executables end up mode 0755. */
function appFiles(version: string, variant: AppVariant): Record<string, string> {
  const files: Record<string, string> = {
    'www/index.html': `version=${version}\n`,
    'www/health': 'ok\n',
    // /cgi-bin/slow?SECONDS answers after SECONDS: an in-flight request for drain tests.
    'www/cgi-bin/slow': cgi(`s=\${QUERY_STRING:-1}
case $s in ''|*[!0-9.]*) s=1 ;; esac
sleep "$s"
printf 'Content-Type: text/plain\\r\\n\\r\\nslow done version=${version}\\n'
`),
    // /cgi-bin/version prints the version; the flaky variant answers 500 to about 30% of requests.
    'www/cgi-bin/version': cgi(`${variant === 'flaky' ? `if [ $((RANDOM % 100)) -lt 30 ]; then
  printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nversion=${version} failed\\n'; exit 0
fi
` : ''}printf 'Content-Type: text/plain\\r\\n\\r\\nversion=${version}\\n'
`),
    // /cgi-bin/env?NAME prints $NAME: shows that env given to the action reaches the container.
    'www/cgi-bin/env': cgi(`name=$QUERY_STRING
case $name in ''|[0-9]*|*[!A-Za-z0-9_]*)
  printf 'Status: 400 Bad Request\\r\\nContent-Type: text/plain\\r\\n\\r\\nbad variable name\\n'; exit 0 ;;
esac
eval "isset=\\\${$name+x} value=\\\${$name-}"
if [ -z "$isset" ]; then
  printf 'Status: 404 Not Found\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s is not set\\n' "$name"
else
  printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$value"
fi
`),
    'start.sh': startScript(version, variant)
  }
  if (variant === 'unhealthy') files['front.sh'] = unhealthyFront()
  if (variant === 'websocket') files['front.sh'] = websocketFront()
  return files
}

// PID 1 gets no default SIGTERM action, so without a trap `docker stop` waits its full timeout.
const TRAP = `trap 'kill -TERM $children 2>/dev/null; wait; echo "version=$APP_VERSION stopped"; exit 0' TERM INT`

function startScript(version: string, variant: AppVariant): string {
  switch (variant) {
    case 'crash':
      return cgi(`echo "boot failed: missing config" >&2\nexit 3\n`)
    case 'crash-markup':
      return cgi(`echo '<img src=x onerror=alert(1)>'\necho '[click](http://evil)'\nexit 3\n`)
    case 'unhealthy':
    case 'websocket':
      // busybox httpd cannot answer 500 for a static path (nor upgrade a connection), so a
      // per-connection nc front does /health (/ws) and relays everything else to httpd on
      // loopback port 18081 (so not a valid PORT).
      return cgi(`APP_VERSION=${version}
${TRAP}
httpd -f -p 127.0.0.1:18081 -h /app/www & children=$!
nc -ll -p "$PORT" -e /app/front.sh & children="$children $!"
echo "version=$APP_VERSION listening on :$PORT (${variant})"
wait
`)
    default:
      return cgi(`APP_VERSION=${version}
${TRAP}
httpd -f -p "$PORT" -h /app/www & children=$!
echo "version=$APP_VERSION listening on :$PORT"
wait
`)
  }
}

function websocketFront(): string {
  return cgi(`cr=$(printf '\\r')
read -r method target proto
while IFS= read -r h; do [ -z "\${h%$cr}" ] && break; done
case "$target" in
/ws|/ws\\?*)
  printf 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n\\r\\n'
  exec cat ;;
*)
  printf '%s %s HTTP/1.0\\r\\nConnection: close\\r\\n\\r\\n' "$method" "$target" | nc 127.0.0.1 18081 ;;
esac
`)
}

function unhealthyFront(): string {
  return cgi(`cr=$(printf '\\r')
read -r method target proto
# Read the whole request head first: closing with unread input would reset the connection.
while IFS= read -r h; do [ -z "\${h%$cr}" ] && break; done
case "$target" in
/health|/health\\?*)
  printf 'HTTP/1.0 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\nContent-Length: 10\\r\\nConnection: close\\r\\n\\r\\nunhealthy\\n' ;;
*)
  printf '%s %s HTTP/1.0\\r\\nConnection: close\\r\\n\\r\\n' "$method" "$target" | nc 127.0.0.1 18081 ;;
esac
`)
}

function dockerfile(base: string, version: string, o: Required<Pick<AppOptions, 'port' | 'expose' | 'healthcheck'>>): string {
  const lines = [
    `FROM ${base}`,
    'ADD app.tar /',
    `ENV PORT=${o.port} APP_VERSION=${version}`
  ]
  if (o.expose.length) lines.push(`EXPOSE ${o.expose.join(' ')}`)
  if (o.healthcheck) {
    lines.push(`HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD wget -q -O /dev/null http://127.0.0.1:${o.port}/health || exit 1`)
  }
  lines.push('CMD ["/app/start.sh"]')
  return lines.join('\n') + '\n'
}

/** Writes app.tar (holding /app) into the build context. */
async function writeAppTar(ctx: string, files: Record<string, string>): Promise<void> {
  const stage = join(ctx, 'stage')
  for (const [rel, text] of Object.entries(files)) {
    const p = join(stage, 'app', rel)
    await mkdir(join(p, '..'), { recursive: true })
    await writeFile(p, text, { mode: text.startsWith('#!') ? 0o755 : 0o644 })
  }
  await detTar(stage, join(ctx, 'app.tar'), ['app'])
  await rm(stage, { recursive: true })
}

// ------------------------------------------------------------------------------------ public API
/** Builds an app image offline on the runner (default) or host engine. */
export async function buildApp(opts: AppOptions): Promise<BuiltImage> {
  const engine = opts.engine ?? 'runner'
  const port = opts.port ?? 8080
  const ref = appRef(opts.tag)
  if (!/^[\w.+-]+$/.test(opts.version)) throw new Error(`buildApp: version must be a simple token, got ${JSON.stringify(opts.version)}`)
  const base = await ensureBase(engine, opts.paddingMiB ?? 0, opts.randomPaddingMiB ?? 0)
  const ctx = await mkdtemp(join(contextParent(engine), 'bgs-app-'))
  try {
    await writeAppTar(ctx, appFiles(opts.version, opts.variant ?? 'ok'))
    await writeFile(join(ctx, 'Dockerfile'), dockerfile(base, opts.version, {
      port,
      expose: opts.expose ?? [port],
      healthcheck: opts.healthcheck ?? false
    }))
    await build(engine, ctx, ref)
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
  const inspect = await mustDocker(engine, ['image', 'inspect', '--format', '{{.Id}} {{.Size}}', ref])
  const [id, size] = inspect.stdout.trim().split(' ')
  return { ref, id: id ?? '', sizeBytes: Number(size) }
}

/**
 * An image for another platform (e.g. linux/arm64), built on the runner engine: FROM scratch,
 * one file, EXPOSE 8080. It never runs; it is there to be refused.
 */
export async function buildPlatformImage(tag: string, platform: string): Promise<BuiltImage> {
  const ctx = await mkdtemp(join(contextParent('runner'), 'bgs-platform-'))
  try {
    await writeFile(join(ctx, 'built-for'), `${platform}\n`)
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY built-for /built-for\nEXPOSE 8080\n')
    await build('runner', ctx, tag, ['--platform', platform])
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
  const inspect = await mustDocker('runner', ['image', 'inspect', '--format', '{{.Id}} {{.Size}}', tag])
  const [id, size] = inspect.stdout.trim().split(' ')
  return { ref: tag, id: id ?? '', sizeBytes: Number(size) }
}

/** Removes an image by reference; a missing image is not an error. */
export async function removeImage(ref: string, engine: Engine = 'runner'): Promise<void> {
  const r = await docker(engine, ['image', 'rm', '-f', ref])
  if (r.code !== 0 && !/No such image/i.test(r.stderr)) {
    throw new Error(`${engine} engine: docker image rm ${ref} failed: ${r.stderr.trim()}`)
  }
}

/**
 * Makes a cold deploy of IMAGE really cold: removes from the host engine every image (and the
 * containers made from it) that holds one of IMAGE's padding layers. The sandbox outlives a test
 * run, and an earlier run's image with the same deterministic base would otherwise keep them.
 */
export async function evictFromHost(image: BuiltImage): Promise<void> {
  const layersOf = async (engine: Engine, ref: string) =>
    JSON.parse((await mustDocker(engine, ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])).stdout) as string[]
  const busybox = new Set(await layersOf('runner', await ensureBase('runner', 0, 0)))
  const own = (await layersOf('runner', image.id)).filter((l) => !busybox.has(l))
  const ids = (await mustDocker('host', ['image', 'ls', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
  for (const id of new Set(ids)) {
    const layers = await layersOf('host', id).catch(() => [] as string[])
    if (!layers.some((l) => own.includes(l))) continue
    const users = (await mustDocker('host', ['ps', '-aq', '--filter', `ancestor=${id}`])).stdout.split('\n').filter(Boolean)
    if (users.length > 0) await mustDocker('host', ['rm', '-f', ...users])
    await removeImage(id, 'host')
  }
}
