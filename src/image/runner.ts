import * as exec from '@actions/exec'
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { childEnv } from './child-env.js'
import { parseImageInspect, type ImageInfo } from './info.js'

// The runner's own Docker engine: the source of images to send.

async function docker(args: string[]): Promise<exec.ExecOutput | undefined> {
  try {
    return await exec.getExecOutput('docker', args, { silent: true, ignoreReturnCode: true, env: childEnv() })
  } catch {
    return undefined // no docker CLI on this runner
  }
}

/** The image as the runner's engine has it, or undefined when it has none (or no engine). */
export async function inspectRunnerImage(ref: string): Promise<ImageInfo | undefined> {
  const result = await docker(['image', 'inspect', '--format', '{{json .}}', ref])
  if (!result || result.exitCode !== 0) return undefined
  return parseImageInspect(result.stdout)
}

/** Content sizes of the image's history entries, oldest first (undefined when unknown). */
export async function runnerLayerSizes(ref: string): Promise<number[] | undefined> {
  const result = await docker(['image', 'history', '--no-trunc', '--human=false', '--format', '{{.Size}}', ref])
  if (!result || result.exitCode !== 0) return undefined
  const sizes = result.stdout.trim().split('\n').map(Number)
  return sizes.every(Number.isFinite) ? sizes.reverse() : undefined
}

export interface SaveStream {
  stdout: Readable
  /** Resolves when `docker save` exited 0; rejects with its stderr otherwise. */
  done: Promise<void>
  stop(): void
}

/** `docker save` as a stream: the archive is never held in memory or written to disk. */
export function saveImage(ref: string, docker = 'docker'): SaveStream {
  const child = spawn(docker, ['save', ref], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`docker save ${ref} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`))
    })
  })
  done.catch(() => undefined) // observed by the caller; avoid an unhandled rejection meanwhile
  // A stop before anything read the archive leaves its first chunks in the paused pipe, which
  // would keep the pipe (and so this process) alive after docker save has gone.
  const stop = (): void => {
    child.kill()
    child.stdout.destroy()
  }
  return { stdout: child.stdout, done, stop }
}

/** Where a run's transfer takes its `docker save` from; stop() ends one nothing took. */
export interface ImageSource {
  take(ref: string): SaveStream
  stop(): void
}

/** A docker save started before it is needed (while the lock is taken), handed to the first send of its image. */
export class SaveAhead implements ImageSource {
  private save?: SaveStream

  constructor(
    private readonly ref: string,
    private readonly start: (ref: string) => SaveStream
  ) {
    this.save = start(ref)
  }

  take(ref: string): SaveStream {
    const save = ref === this.ref ? this.save : undefined
    this.save = undefined
    if (save) return save
    this.stop()
    return this.start(ref)
  }

  /** Stops a save nothing took (the plan changed under the lock, or the run failed first). */
  stop(): void {
    this.save?.stop()
    this.save = undefined
  }
}
