// Benchmark over the links users have (issue #21): the action against the one-line pipelines
// people write by hand, to a "remote" server behind a shaped link, in interleaved rounds.
//   server   node 1 of sandbox/nodes.sh: its own sshd, engine, /var/lib and kernel boot ID (a
//            file bind-mounted on /proc/sys/kernel/random/boot_id in its mount namespace), so
//            compression: auto sees another machine, as it would a real server
//   link     rate: tbf on both ends of the node's veth (nodes.sh shape); latency: sandbox/relay.ts
//            on 127.0.0.1 holding every chunk RTT/2 each way (this kernel has no netem)
//   variants `docker save | gzip | ssh 'gunzip | docker load'`, the same with `zstd -T0 -3`, and
//            the action's whole step (transfer, health check, switch) with each compression
//   cells    cold: a compressible image of real distribution files (this machine's own
//            /usr/lib, >= 150 MiB), an incompressible one; changes from a live v1: the top
//            layer (a few KB), a ~20 MiB dependency layer
// Prints and writes bench/wan.md and bench/wan.json: medians and ranges, the action's ratio to
// the faster pipeline of the same round, each cell's physical limit (the fewest bytes any
// variant sent ÷ the rate + 1 RTT), and each variant's CPU time (the whole machine's, which
// runner and server share).
//   npx tsx scripts/bench-wan.ts [--rounds N] [--profiles 100mbit,1gbit,20mbit,unshaped]
//                                [--cells cold,random,top,deps] [--variants gzip,zstd,auto,...]
//                                [--out wan-levels]   (bench/wan-levels.md: an A/B kept apart)
//   --baseline DIR adds the action (default inputs) run from DIR/index.js, another commit's dist
//            (git worktree add /tmp/b <commit> && cd /tmp/b && npm ci && npm run build): an A/B of a change
//   --trace prints each action run's remote calls and when each began (the action's debug log)
//   --variants action-zstd3 adds the action with compression-level 3, fixed: the level tuner's A/B
import { spawn } from 'node:child_process'
import { lstat, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { REPO_ROOT, runAction } from '../sandbox/action.js'
import { buildApp } from '../sandbox/fixtures.js'
import { node24 } from '../sandbox/node24.js'
import {
  ensureNodes, nodeDocker, nodeSsh, nodeSshArgs, shapeNode, unshapeNode, type NodeInfo, type NodesInfo
} from '../sandbox/nodes.js'
import { startRelay, type Relay } from '../sandbox/relay.js'
import { runnerDocker } from '../sandbox/sandbox.js'

const MiB = 1024 * 1024
const SERVICE = 'bench-wan'
const NETWORK = 'bench-wan'
const PORT = 18906

interface Profile { key: string; label: string; rate?: string; mbit?: number; rttMs: number }
const PROFILES: Profile[] = [
  { key: '100mbit', label: '100 Mbit/s, 40 ms RTT', rate: '100mbit', mbit: 100, rttMs: 40 },
  { key: '1gbit', label: '1 Gbit/s, 20 ms RTT', rate: '1gbit', mbit: 1000, rttMs: 20 },
  { key: '20mbit', label: '20 Mbit/s, 80 ms RTT', rate: '20mbit', mbit: 20, rttMs: 80 },
  { key: 'unshaped', label: 'unshaped (veth, no delay)', rttMs: 0 }
]
type CellKey = 'cold' | 'random' | 'top' | 'deps'
const CELLS: { key: CellKey; label: string }[] = [
  { key: 'cold', label: 'cold, compressible (real /usr/lib files)' },
  { key: 'random', label: 'cold, incompressible' },
  { key: 'top', label: 'top-layer change (a few KB)' },
  { key: 'deps', label: '~20 MiB dependency-layer change' }
]
interface Variant {
  key: string
  label: string
  pipeline?: { pack: string; unpack: string }
  compression?: string
  level?: string
  /** Measured only when --variants names it (an A/B of one setting, not a row of the README's table). */
  optional?: boolean
}
const VARIANTS: Variant[] = [
  { key: 'gzip', label: 'pipeline: gzip', pipeline: { pack: 'gzip', unpack: 'gunzip' } },
  { key: 'zstd', label: 'pipeline: zstd -T0 -3', pipeline: { pack: 'zstd -q -T0 -3', unpack: 'zstd -q -d' } },
  { key: 'auto', label: 'action (default)', compression: 'auto' },
  { key: 'action-zstd', label: 'action, compression: zstd', compression: 'zstd' },
  { key: 'action-gzip', label: 'action, compression: gzip', compression: 'gzip' },
  { key: 'action-zstd3', label: 'action, compression: zstd, compression-level: 3 (fixed)', compression: 'zstd', level: '3', optional: true },
  { key: 'baseline', label: 'action (default), the --baseline build', compression: 'auto', optional: true }
]

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : undefined
}
function pick<T extends { key: string }>(all: T[], name: string): T[] {
  const wanted = arg(name)?.split(',')
  if (!wanted) return all.filter((x) => !(x as { optional?: boolean }).optional)
  const unknown = wanted.filter((k) => !all.some((x) => x.key === k))
  if (unknown.length) throw new Error(`--${name}: unknown ${unknown.join(', ')}; known: ${all.map((x) => x.key).join(', ')}`)
  return all.filter((x) => wanted.includes(x.key))
}
const ROUNDS = Number(arg('rounds') ?? 5)
/** bench/<OUT>.md and .json: another name keeps an A/B apart from the main table. */
const OUT = arg('out') ?? 'wan'
/** --baseline: another build of the action, measured beside this one. */
const BASELINE = arg('baseline')
/** --trace: each action run prints its remote calls, with when each began (the debug log). */
const TRACE = process.argv.includes('--trace')
if (!/^[a-z0-9-]+$/.test(OUT)) throw new Error(`--out: a name of lower-case letters, digits and dashes, not ${OUT}`)

const progress = (message: string): void => { process.stderr.write(`bench-wan: ${message}\n`) }
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

// ------------------------------------------------------------------------------------ images
interface Images { v1: string; top: string; deps: string; random: string; all: string[] }

/** A deterministic tar (as `ADD` unpacks it) of files under `root`, in name order, up to `maxBytes`. */
async function distroTar(out: string, root: string, maxBytes: number, skip = 0): Promise<void> {
  const files: string[] = []
  let total = 0
  let skipped = 0
  for (const name of (await readdir(root)).sort()) {
    // lstat: a symlink (libfoo.so -> libfoo.so.1) goes in the tar as a link of a few bytes.
    const s = await lstat(join(root, name)).catch(() => undefined)
    if (!s?.isFile() || s.size > 16 * MiB) continue
    if (skipped < skip) { skipped += s.size; continue }
    if (total + s.size > maxBytes) break
    files.push(name)
    total += s.size
  }
  await sh(`tar -cf ${out} --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --transform 's,^,opt/lib/,' -C ${root} -T -`, files.join('\n') + '\n')
}

async function buildImages(): Promise<Images> {
  const base = await buildApp({ tag: 'bench-wan/app:base', version: 'bench-wan' })
  const ctx = await mkdtemp(join(tmpdir(), 'bench-wan-'))
  try {
    const lib = '/usr/lib/x86_64-linux-gnu'
    await distroTar(join(ctx, 'distro.tar'), lib, 160 * MiB)
    // The dependency layer: the next 20 MiB of the same folder, and a lock file that differs.
    for (const n of [1, 2]) {
      await distroTar(join(ctx, `deps-${n}.tar`), lib, 20 * MiB, 160 * MiB)
      await sh(`mkdir -p ${ctx}/d${n}/opt && echo 'deps ${n}' > ${ctx}/d${n}/opt/deps.lock && tar -rf ${ctx}/deps-${n}.tar --mtime=@0 --owner=0 --group=0 -C ${ctx}/d${n} opt/deps.lock`)
      await sh(`mkdir -p ${ctx}/t${n}/app && head -c 3000 /dev/urandom | base64 > ${ctx}/t${n}/app/release && tar -cf ${ctx}/top-${n}.tar -C ${ctx}/t${n} app`)
    }
    await sh(`head -c ${160 * MiB} /dev/urandom > ${ctx}/random.bin && tar -cf ${ctx}/random.tar --transform 's,^,opt/,' -C ${ctx} random.bin && rm ${ctx}/random.bin`)
    const image = async (tag: string, layers: string[]): Promise<string> => {
      await writeFile(join(ctx, 'Dockerfile'), [`FROM ${base.ref}`, ...layers.map((l) => `ADD ${l} /`), ''].join('\n'))
      const r = await runnerDocker(['build', '-q', '-t', tag, ctx], { timeoutMs: 600_000 })
      if (r.code !== 0) throw new Error(`docker build ${tag}: ${r.stderr}`)
      return tag
    }
    const v1 = await image('bench-wan/app:v1', ['distro.tar', 'deps-1.tar', 'top-1.tar'])
    const top = await image('bench-wan/app:top', ['distro.tar', 'deps-1.tar', 'top-2.tar'])
    const deps = await image('bench-wan/app:deps', ['distro.tar', 'deps-2.tar', 'top-2.tar'])
    const random = await image('bench-wan/app:random', ['random.tar', 'top-1.tar'])
    return { v1, top, deps, random, all: [v1, top, deps, random] }
  } finally {
    await rm(ctx, { recursive: true, force: true })
  }
}

async function layersOf(ref: string, on?: NodeInfo): Promise<string[]> {
  const args = ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref]
  const r = on ? await nodeDocker(on, args) : await runnerDocker(args)
  return r.code === 0 ? JSON.parse(r.stdout) as string[] : []
}

// ------------------------------------------------------------------------------- node state
/** The service, its proxy and network gone, and every image that holds one of `unique`. */
async function clearNode(node: NodeInfo, unique: Set<string>): Promise<void> {
  const ids = (await nodeDocker(node, ['ps', '-aq', '--filter', `label=bluegreen.service=${SERVICE}`])).stdout.split('\n').filter(Boolean)
  if (ids.length) await nodeDocker(node, ['rm', '-f', ...ids])
  await nodeDocker(node, ['rm', '-f', `${NETWORK}-proxy`])
  await nodeDocker(node, ['network', 'rm', NETWORK])
  await nodeSsh(node, `rm -rf /var/lib/bluegreen/${SERVICE} /var/lib/bluegreen/_proxy/${NETWORK}`)
  await evict(node, unique)
}

async function evict(node: NodeInfo, layers: Set<string>): Promise<void> {
  for (const id of (await nodeDocker(node, ['image', 'ls', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean)) {
    if ((await layersOf(id, node)).some((l) => layers.has(l))) await nodeDocker(node, ['image', 'rm', '-f', id])
  }
}

// ----------------------------------------------------------------------------------- variants
interface Link { host: string; port: number; relay?: Relay }

async function sh(script: string, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 900_000)
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr.on('data', (b: Buffer) => { err += b.toString() })
    child.stdin.end(input ?? '')
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`${script.slice(0, 200)}: exit ${code}: ${err.slice(-2000)}`))
    })
  })
}

interface Measure { ms: number; bytes: number; phases?: Record<string, number>; cpuMs?: number }

/**
 * The whole machine's busy CPU time so far (/proc/stat: user, nice, system, irq, softirq, steal),
 * in ms. Runner and server share this VM's 2 cores, so a variant's CPU time, beside its wall
 * time, tells a link-bound cell from a CPU-bound one.
 */
async function busyMs(): Promise<number> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , irq, softirq, steal] = fields
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10
}

/** What `run` gives, with its wall and CPU time. */
async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const [t0, c0] = [performance.now(), await busyMs()]
  const value = await run()
  return { value, ms: performance.now() - t0, cpuMs: (await busyMs()) - c0 }
}

/** The job summary's phase rows (`| send the image | 5.2 s |`, `| health check | 40 ms |`), in ms. */
function phasesOf(summary: string): Record<string, number> {
  const phases: Record<string, number> = {}
  for (const m of summary.matchAll(/^\| ([a-zA-Z][^|*]*?) \| ([\d.]+) (s|ms) \|$/gm)) phases[m[1]!] = Number(m[2]) * (m[3] === 's' ? 1000 : 1)
  return phases
}

async function pipeline(info: NodesInfo, node: NodeInfo, link: Link, p: NonNullable<Variant['pipeline']>, ref: string): Promise<Measure> {
  const count = join(tmpdir(), `bench-wan-bytes-${process.pid}`)
  const ssh = nodeSshArgs(info, node, { via: { host: link.host, port: link.port } }).map((a) => `'${a}'`).join(' ')
  const { ms, cpuMs } = await timed(() => sh(`docker save ${ref} | ${p.pack} | tee >(wc -c > ${count}) | ssh ${ssh} -- '${p.unpack} | docker load -q'`))
  const bytes = Number((await readFile(count, 'utf8')).trim())
  await rm(count, { force: true })
  return { ms, cpuMs, bytes }
}

/** GitHub runs the action on Node 24, whose zlib has zstd; so does this bench (sandbox/node24.ts). */
let NODE: string | undefined

async function action(info: NodesInfo, node: NodeInfo, link: Link, ref: string, compression: string, level = '', entry?: string): Promise<Measure> {
  NODE ??= await node24()
  const inputs = {
    host: link.host,
    port: String(link.port),
    fingerprint: node.fingerprint,
    username: info.user,
    key: await readFile(info.keyPath, 'utf8'),
    image: ref,
    service: SERVICE,
    network: NETWORK,
    'proxy-port': String(PORT),
    compression,
    'compression-level': level
  }
  const { value: run, ms, cpuMs } = await timed(() =>
    runAction(inputs, { timeoutMs: 900_000, node: NODE, env: TRACE ? { RUNNER_DEBUG: '1' } : {}, entry })
  )
  if (TRACE) console.error(run.stdout.split('\n').filter((line) => /^::debug::remote|^::group::|took/.test(line)).join('\n'))
  if (run.code !== 0) throw new Error(`the action failed (exit ${run.code}):\n${run.stdout.split('\n').slice(-30).join('\n')}`)
  return { ms, cpuMs, bytes: Number(run.outputs['transferred-bytes'] ?? 0), phases: phasesOf(run.summary) }
}

function baselineEntry(): string {
  if (!BASELINE) throw new Error('--variants baseline needs --baseline DIR (a dist directory built from another commit)')
  return join(BASELINE, 'index.js')
}

// --------------------------------------------------------------------------------------- main
interface Sample { profile: string; cell: CellKey; variant: string; round: number; ms: number; bytes: number; phases?: Record<string, number>; cpuMs?: number; at?: string }

/**
 * The samples of bench/wan.json for the cells of links this run does not measure, so one link,
 * or some cells of it, can be rerun alone. A cell's variants always come from one run.
 */
async function earlierSamples(profiles: Profile[], cells: typeof CELLS): Promise<Sample[]> {
  try {
    const old = JSON.parse(await readFile(join(REPO_ROOT, 'bench', `${OUT}.json`), 'utf8')) as { samples?: Sample[] }
    const rerun = (x: Sample): boolean => profiles.some((p) => p.key === x.profile) && cells.some((c) => c.key === x.cell)
    return (old.samples ?? []).filter((x) => !rerun(x))
  } catch {
    return []
  }
}

async function main(): Promise<void> {
  const profiles = pick(PROFILES, 'profiles')
  const cells = pick(CELLS, 'cells')
  const variants = pick(VARIANTS, 'variants')
  const info = await ensureNodes({ count: 3, swarm: true })
  const node = info.nodes[0]!
  progress('building the images')
  const images = await buildImages()
  // Cold means cold: the small busybox base goes too, as the pipelines send it.
  const unique = new Set<string>()
  for (const ref of images.all) for (const l of await layersOf(ref)) unique.add(l)
  const v2Only = async (ref: string): Promise<Set<string>> => {
    const v1 = new Set(await layersOf(images.v1))
    return new Set((await layersOf(ref)).filter((l) => !v1.has(l)))
  }
  const samples: Sample[] = []
  for (const profile of profiles) {
    await unshapeNode(node)
    if (profile.rate) await shapeNode(node, profile.rate)
    const relay = profile.rttMs ? await startRelay({ target: { host: node.address, port: node.port }, delayMs: profile.rttMs / 2, maxConnections: 256 }) : undefined
    const link: Link = relay ? { host: '127.0.0.1', port: relay.port, relay } : { host: node.address, port: node.port }
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        // Interleaved: the VM's speed drifts by the minute, so each round runs every variant of
        // every cell once, in a rotated order.
        for (const cell of cells) {
          const order = variants.map((_, i) => variants[(i + round) % variants.length]!)
          for (const variant of order) {
            const ref = cell.key === 'cold' ? images.v1 : cell.key === 'random' ? images.random : cell.key === 'top' ? images.top : images.deps
            if (cell.key === 'cold' || cell.key === 'random') {
              await clearNode(node, unique)
            } else {
              // v1 live, and none of v2's own layers on the node.
              await action(info, node, { host: node.address, port: node.port }, images.v1, 'auto')
              await evict(node, await v2Only(ref))
            }
            const m = variant.pipeline
              ? await pipeline(info, node, link, variant.pipeline, ref)
              : await action(info, node, link, ref, variant.compression!, variant.level, variant.key === 'baseline' ? baselineEntry() : undefined)
            samples.push({ profile: profile.key, cell: cell.key, variant: variant.key, round, ...m, at: new Date().toISOString() })
            progress(`${profile.key} round ${round} ${cell.key} ${variant.key}: ${(m.ms / 1000).toFixed(2)} s, ${(m.bytes / MiB).toFixed(1)} MiB, CPU ${((m.cpuMs ?? 0) / 1000).toFixed(2)} s`)
          }
        }
      }
    } finally {
      await relay?.close()
      await unshapeNode(node)
    }
  }
  await clearNode(node, unique)
  const all = [...(await earlierSamples(profiles, cells)), ...samples]
  const has = <T extends { key: string }>(xs: T[], field: 'profile' | 'cell' | 'variant'): T[] => xs.filter((x) => all.some((y) => y[field] === x.key))
  await report(all, has(PROFILES, 'profile'), has(CELLS, 'cell'), has(VARIANTS, 'variant'))
}

/** When the link was measured: one span, or one per cell where its cells come from runs hours apart. */
function measured(samples: Sample[], cells: typeof CELLS): string {
  const span = (of: Sample[]): { text: string; hours: number } => {
    const dates = of.map((x) => x.at).filter((x): x is string => !!x).sort()
    if (!dates.length) return { text: 'undated', hours: 0 }
    const [first, last] = [dates[0]!, dates.at(-1)!]
    return { text: `${first.slice(0, 16).replace('T', ' ')}–${last.slice(11, 16)}`, hours: (Date.parse(last) - Date.parse(first)) / 3_600_000 }
  }
  const whole = span(samples)
  if (whole.hours < 2) return `Measured ${whole.text} UTC`
  const perCell = cells.filter((cell) => samples.some((x) => x.cell === cell.key))
  return `Measured (UTC) ${perCell.map((cell) => `${cell.key} ${span(samples.filter((x) => x.cell === cell.key)).text}`).join('; ')}`
}

async function report(samples: Sample[], profiles: Profile[], cells: typeof CELLS, variants: Variant[]): Promise<void> {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
  const lines = [
    '# Benchmark: the action against hand-written pipelines over shaped links (issue #21)',
    '',
    `${new Date().toISOString()} · interleaved rounds · server: a network namespace of this 2-core VM with its own sshd, engine and boot ID (sandbox/nodes.sh); rate by tbf, latency by a relay (sandbox/relay.ts).`,
    'Ratio: the action\'s whole step (transfer, health check, switch) ÷ the faster pipeline of the same round; median (range). Limit: the fewest bytes any variant sent ÷ the rate + 1 RTT. CPU: the whole machine\'s busy CPU time during the variant (runner and server share its 2 cores), median.',
    ''
  ]
  for (const profile of profiles) {
    const mine = samples.filter((x) => x.profile === profile.key)
    lines.push(`## ${profile.label}`, '', `${measured(mine, cells)}, ${Math.max(...mine.map((x) => x.round))} round(s).`, '', `| Cell | ${variants.map((v) => v.label).join(' | ')} | Limit |`, `|---|${variants.map(() => '---:|').join('')}---:|`)
    for (const cell of cells) {
      const of = (v: string): Sample[] => samples.filter((x) => x.profile === profile.key && x.cell === cell.key && x.variant === v)
      const rounds = [...new Set(samples.filter((x) => x.profile === profile.key && x.cell === cell.key).map((x) => x.round))]
      const best = (round: number): number | undefined => {
        const pipes = samples.filter((x) => x.profile === profile.key && x.cell === cell.key && x.round === round && (x.variant === 'gzip' || x.variant === 'zstd'))
        return pipes.length ? Math.min(...pipes.map((x) => x.ms)) : undefined
      }
      const cellText = variants.map((v) => {
        const mine = of(v.key)
        if (!mine.length) return '—'
        const ms = mine.map((x) => x.ms)
        const ratios = v.pipeline ? [] : rounds.map((r) => {
          const b = best(r)
          const m = mine.find((x) => x.round === r)
          return b && m ? m.ms / b : undefined
        }).filter((x): x is number => x !== undefined)
        const ratio = ratios.length ? `, ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : ''
        const cpu = mine.filter((x) => x.cpuMs !== undefined).map((x) => x.cpuMs!)
        const cpuText = cpu.length ? `, CPU ${s(median(cpu))}` : ''
        return `${s(median(ms))} (${s(Math.min(...ms))}–${s(Math.max(...ms))})${ratio}, ${(median(mine.map((x) => x.bytes)) / MiB).toFixed(1)} MiB${cpuText}`
      })
      const sent = samples.filter((x) => x.profile === profile.key && x.cell === cell.key && x.bytes > 0).map((x) => x.bytes)
      const limit = profile.mbit && sent.length ? s((Math.min(...sent) * 8) / (profile.mbit * 1e6) * 1000 + profile.rttMs) : '—'
      lines.push(`| ${cell.label} | ${cellText.join(' | ')} | ${limit} |`)
    }
    lines.push('', 'Where the default action\'s time goes (the job summary\'s phases, median; the rest is starting Node and the runner\'s own work):', '')
    const auto = samples.filter((x) => x.profile === profile.key && x.variant === 'auto' && x.phases)
    const names = [...new Set(auto.flatMap((x) => Object.keys(x.phases!)))]
    lines.push(`| Cell | ${names.join(' | ')} | whole step |`, `|---|${names.map(() => '---:|').join('')}---:|`)
    for (const cell of cells) {
      const mine = auto.filter((x) => x.cell === cell.key)
      if (!mine.length) continue
      lines.push(`| ${cell.label} | ${names.map((n) => s(median(mine.map((x) => x.phases![n] ?? 0)))).join(' | ')} | ${s(median(mine.map((x) => x.ms)))} |`)
    }
    lines.push('')
  }
  const md = lines.join('\n')
  await writeFile(join(REPO_ROOT, 'bench', `${OUT}.md`), md)
  await writeFile(join(REPO_ROOT, 'bench', `${OUT}.json`), JSON.stringify({ samples }, null, 2) + '\n')
  process.stdout.write(md)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-wan: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
