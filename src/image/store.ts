import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { PassThrough, type Readable } from 'node:stream'
import { childEnv } from './child-env.js'
import type { ImageInfo } from './info.js'
import { chainIds } from '../transfer/layers.js'

// The runner engine's classic store (overlay2), read directly: a layer the host lacks is rebuilt
// from its tar-split and its files (tar-split.ts), so a deploy reads only the layers it sends and
// its first byte leaves at once. `docker save` instead exports every layer of the image, and
// Docker's classic store writes that export to a temporary folder before its first byte: on this
// project's bench, 0.5 s before the first byte and 1.3 s in all for a 184 MiB image, whatever
// the host lacks.
//
// The store is root's: a runner that is not root reads it through `sudo -n` (GitHub's hosted
// runners allow it without a password), and one that cannot falls back to docker save. Nothing
// is written. The image's config file must hash to its ID, which tells that this is the store
// of the engine the image came from (not a remote DOCKER_HOST's, whose paths would not be here).

export interface StoreFiles {
  stdout: Readable
  /** Resolves when every file was read; rejects with what went wrong otherwise. */
  done: Promise<void>
  stop(): void
}

export interface RunnerStore {
  /** How the store is read, for the log: "as root" or "through sudo". */
  how: string
  /** The image's config, exactly as its ID hashes it. */
  config: Buffer
  /** The layer's tar-split.json.gz and the folder of its files. */
  layer(index: number): Promise<{ tarSplit: Buffer; diffDir: string }>
  /** The files of a NUL-separated list of paths, concatenated in order. */
  files(list: Buffer): StoreFiles
}

/** The root of a Docker data folder, from an overlay2 layer folder (<root>/overlay2/<id>/diff). */
function dataRoot(diffDir: string): string {
  return diffDir.replace(/\/overlay2\/[^/]+\/diff$/, '')
}

/** What runs a command as root: nothing when this process is root, else sudo without a prompt. */
function asRoot(): string[] {
  return process.getuid?.() === 0 ? [] : ['sudo', '-n']
}

function runAsRoot(prefix: string[], args: string[], stdin?: Buffer): StoreFiles {
  const [command, ...rest] = [...prefix, ...args]
  const child = spawn(command, rest, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)))
  const stdout = new PassThrough({ highWaterMark: 1 << 20 })
  child.stdout.pipe(stdout)
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`${args[0]} on the runner's Docker store failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n')[0] ?? ''}`))
    })
  })
  done.catch(() => undefined) // observed by the caller
  child.stdin.on('error', () => undefined) // the child may exit before it has read its list
  child.stdin.end(stdin)
  return {
    stdout,
    done,
    stop: () => {
      child.kill()
      stdout.destroy()
    }
  }
}

async function readAsRoot(prefix: string[], path: string): Promise<Buffer> {
  const read = runAsRoot(prefix, ['cat', '--', path])
  const chunks: Buffer[] = []
  read.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  await read.done
  return Buffer.concat(chunks)
}

/**
 * The store of the runner's engine for this image, or why it cannot be read (then docker save
 * it is). Only a classic overlay2 image qualifies; the containerd store keeps compressed blobs
 * that the host would have to unpack, and is left to docker save. `prefix`: what runs a command
 * as root (tests pass none).
 */
export async function openRunnerStore(image: ImageInfo, prefix = asRoot()): Promise<RunnerStore | { unusable: string }> {
  if (process.platform !== 'linux') return { unusable: 'not a Linux runner' }
  if (image.containerdStore) return { unusable: "the runner's engine uses the containerd image store" }
  const dirs = image.layerDirs
  if (!dirs?.length) return { unusable: "the runner's engine does not keep this image in overlay2 folders" }
  const root = dataRoot(dirs[0])
  const id = image.id.replace(/^sha256:/, '')
  const config = await readAsRoot(prefix, `${root}/image/overlay2/imagedb/content/sha256/${id}`).catch((error: Error) => error)
  if (config instanceof Error) return { unusable: `its files cannot be read: ${config.message}` }
  if (createHash('sha256').update(config).digest('hex') !== id) return { unusable: "the image's config there does not match its ID" }
  const chains = chainIds(image.diffIds)
  return {
    how: prefix.length ? 'through sudo' : 'as root',
    config,
    layer: async (index) => ({
      tarSplit: await readAsRoot(prefix, `${root}/image/overlay2/layerdb/sha256/${chains[index].replace(/^sha256:/, '')}/tar-split.json.gz`),
      diffDir: dirs[index]
    }),
    // -r: an empty list runs nothing (cat with no file would wait on its input).
    files: (list) => runAsRoot(prefix, ['xargs', '-0', '-r', 'cat', '--'], list)
  }
}
