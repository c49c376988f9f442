// Benchmark: one step to several servers against the same step to one. Three "remote" servers
// (sandbox/nodes.sh: own sshd, engine and /var/lib each) get a cold image, in interleaved rounds:
//   1 host                        the reference
//   3 hosts, canary-hosts: 0      all at once
//   3 hosts, canary-hosts: 1      the default: the first alone, then the other two together
// Each run also counts what the runner read: the bytes of every `docker save` the action ran, by a
// stand-in docker first on its PATH, against the image's size. Writes bench/hosts.md and
// bench/hosts.json. Part of `npm run bench`; alone: npx tsx scripts/bench-hosts.ts [--rounds N].
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { REPO_ROOT, runAction } from '../sandbox/action.js'
import { buildApp } from '../sandbox/fixtures.js'
import { ensureNodes, nodeDocker, nodeSsh, type NodeInfo, type NodesInfo } from '../sandbox/nodes.js'
import { runnerDocker } from '../sandbox/sandbox.js'

const MiB = 1024 * 1024
const SERVICE = 'bench-hosts'
const NETWORK = 'bench-hosts'
const PORT = 18905
const argRounds = process.argv.indexOf('--rounds')
const ROUNDS = argRounds > 0 ? Number(process.argv[argRounds + 1]) : 3
// Sizes nobody else here uses, so no other image on a node holds these layers.
const IMAGE = { randomPaddingMiB: 37, paddingMiB: 13 }

interface Shape {
  label: string
  count: number
  extra: Record<string, string>
}
const SHAPES: Shape[] = [
  { label: '1 host', count: 1, extra: {} },
  { label: '3 hosts, all at once (canary-hosts: 0)', count: 3, extra: { 'canary-hosts': '0' } },
  { label: '3 hosts, the first alone (canary-hosts: 1, the default)', count: 3, extra: {} }
]

interface Run {
  shape: string
  wallMs: number
  saves: number
  savedBytes: number
  wireBytes: number
}

const progress = (message: string): void => { process.stderr.write(`bench-hosts: ${message}\n`) }
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** A docker first on the PATH that counts the bytes of each `docker save` the action reads. */
function countingDocker(): { env: Record<string, string>; saves(): number[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-hosts-docker-'))
  writeFileSync(join(dir, 'docker'), [
    '#!/bin/bash',
    'if [ "$1" = save ]; then',
    '  set -o pipefail',
    `  /usr/bin/docker "$@" | tee >(wc -c > "${dir}/save.$$")`,
    '  exit "${PIPESTATUS[0]}"',
    'fi',
    'exec /usr/bin/docker "$@"',
    ''
  ].join('\n'), { mode: 0o755 })
  return {
    env: { PATH: `${dir}:${process.env.PATH}` },
    saves: () => readdirSync(dir).filter((f) => f.startsWith('save.')).map((f) => Number(readFileSync(join(dir, f), 'utf8').trim())),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** Every trace of the service and its image on every node: the next deploy is cold. */
async function clearNodes(nodes: NodeInfo[], image: BuiltImage): Promise<void> {
  for (const node of nodes) {
    const ids = (await nodeDocker(node, ['ps', '-aq', '--filter', `label=bluegreen.service=${SERVICE}`])).stdout.split('\n').filter(Boolean)
    if (ids.length) await nodeDocker(node, ['rm', '-f', ...ids])
    await nodeDocker(node, ['rm', '-f', `${NETWORK}-proxy`])
    await nodeDocker(node, ['network', 'rm', NETWORK])
    await nodeSsh(node, `rm -rf /var/lib/bluegreen/${SERVICE} /var/lib/bluegreen/_proxy/${NETWORK}`)
    const left = (await nodeDocker(node, ['image', 'ls', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean)
    for (const id of left) {
      const layers = (await nodeDocker(node, ['image', 'inspect', '-f', '{{json .RootFS.Layers}}', id])).stdout
      if (image.padLayers.some((layer) => layers.includes(layer))) await nodeDocker(node, ['image', 'rm', '-f', id])
    }
  }
}

async function deploy(info: NodesInfo, shape: Shape, image: BuiltImage): Promise<Run> {
  const docker = countingDocker()
  try {
    const targets = info.nodes.slice(0, shape.count)
    const t0 = performance.now()
    const run = await runAction({
      hosts: targets.map((node) => `${node.address} ${node.fingerprint}`).join('\n'),
      username: info.user,
      key: readFileSync(info.keyPath, 'utf8'),
      image: image.ref,
      service: SERVICE,
      network: NETWORK,
      'proxy-port': String(PORT),
      ...shape.extra
    }, { env: docker.env, timeoutMs: 300_000 })
    const wallMs = performance.now() - t0
    if (run.code !== 0) throw new Error(`${shape.label}: the action failed (exit ${run.code}):\n${run.stdout.split('\n').slice(-30).join('\n')}`)
    const hosts = JSON.parse(run.outputs['hosts-result'] ?? '[]') as { result: string; transferredBytes?: number }[]
    if (hosts.length !== shape.count || hosts.some((h) => h.result !== 'live')) throw new Error(`${shape.label}: not every host went live: ${run.outputs['hosts-result']}`)
    const saves = docker.saves()
    return {
      shape: shape.label,
      wallMs,
      saves: saves.length,
      savedBytes: saves.reduce((a, b) => a + b, 0),
      wireBytes: hosts.reduce((sum, h) => sum + (h.transferredBytes ?? 0), 0)
    }
  } finally {
    docker.remove()
  }
}

type BuiltImage = Awaited<ReturnType<typeof buildApp>> & { padLayers: string[] }

async function main(): Promise<void> {
  const info = await ensureNodes({ count: 3, swarm: true })
  progress(`nodes: ${info.nodes.map((n) => `${n.name} ${n.address}`).join(', ')}`)
  const built = await buildApp({ tag: 'bench-hosts/app:1', version: 'bench-hosts-1', ...IMAGE })
  const base = await buildApp({ tag: 'bench-hosts/plain:1', version: 'bench-hosts-plain' })
  const layersOf = async (ref: string): Promise<string[]> =>
    JSON.parse((await runnerDocker(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref])).stdout) as string[]
  const plain = new Set(await layersOf(base.ref))
  const image: BuiltImage = { ...built, padLayers: (await layersOf(built.ref)).filter((l) => !plain.has(l)) }
  const runs: Run[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    // Interleaved: the VM's speed drifts by the minute, so each round runs every shape once.
    for (const shape of SHAPES) {
      await clearNodes(info.nodes, image)
      const run = await deploy(info, shape, image)
      progress(`round ${round}: ${shape.label}: ${(run.wallMs / 1000).toFixed(2)} s, ${run.saves} save(s) of ${(run.savedBytes / MiB).toFixed(1)} MiB`)
      runs.push(run)
    }
  }
  await clearNodes(info.nodes, image)
  await writeReport(runs, image)
}

async function writeReport(runs: Run[], image: BuiltImage): Promise<void> {
  const of = (label: string) => runs.filter((r) => r.shape === label)
  const one = median(of(SHAPES[0]!.label).map((r) => r.wallMs))
  const rows = SHAPES.map((shape) => {
    const mine = of(shape.label)
    const walls = mine.map((r) => r.wallMs)
    const ratios = mine.map((r, i) => r.wallMs / of(SHAPES[0]!.label)[i]!.wallMs)
    const read = median(mine.map((r) => r.savedBytes))
    return {
      shape: shape.label,
      medianMs: median(walls),
      rangeMs: [Math.min(...walls), Math.max(...walls)],
      ratio: median(walls) / one,
      pairRatios: [Math.min(...ratios), Math.max(...ratios)],
      saves: Math.max(...mine.map((r) => r.saves)),
      readRatio: read / image.sizeBytes,
      wireMiB: median(mine.map((r) => r.wireBytes)) / MiB
    }
  })
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  const md = [
    '# Benchmark: one step to three servers against one server',
    '',
    `${new Date().toISOString()} · ${ROUNDS} interleaved rounds · a cold ${(image.sizeBytes / MiB).toFixed(1)} MiB image (${IMAGE.randomPaddingMiB} MiB random + ${IMAGE.paddingMiB} MiB text) · ` +
      'servers are network namespaces of this 2-core machine (sandbox/nodes.sh), so three hosts share its CPU and disk: on real servers the parallel part only gets cheaper.',
    '',
    '| Deploy | Wall time (median, range) | / 1 host (median; single rounds) | `docker save` runs | Runner bytes read / image size | Sent, all hosts (median) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.shape} | ${s(r.medianMs)} (${s(r.rangeMs[0]!)}–${s(r.rangeMs[1]!)}) | ${r.ratio.toFixed(2)}× (${r.pairRatios[0]!.toFixed(2)}–${r.pairRatios[1]!.toFixed(2)}×) | ${r.saves} | ${r.readRatio.toFixed(2)}× | ${r.wireMiB.toFixed(1)} MiB |`),
    '',
    'The runner reads the image once whatever the number of hosts: one `docker save`, fanned out to every host that lacks a layer.',
    ''
  ].join('\n')
  await writeFile(join(REPO_ROOT, 'bench', 'hosts.md'), md)
  await writeFile(join(REPO_ROOT, 'bench', 'hosts.json'), JSON.stringify({ image: { ...IMAGE, sizeBytes: image.sizeBytes }, rows, runs }, null, 2) + '\n')
  process.stdout.write(md)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-hosts: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
