import { PassThrough } from 'node:stream'
import type { ImageSource, SaveStream } from './runner.js'

// Several hosts, one export: `docker save` runs once and every host that lacks the image reads
// all of it through a branch of its own (each then leaves out the layers its host has, so hosts
// that differ get different archives from the one read). The export moves at the pace of the
// slowest reader: a branch that is full pauses the source, so a slow host makes the runner wait,
// never buffer the image.

/** Each branch may run this far ahead of the slowest one. */
const BRANCH_BUFFER = 4 << 20

export class SaveFanout {
  private readonly branches: PassThrough[]
  private open: number

  constructor(private readonly save: SaveStream, count: number) {
    this.branches = Array.from({ length: count }, () => new PassThrough({ highWaterMark: BRANCH_BUFFER }))
    this.open = count
    for (const branch of this.branches) save.stdout.pipe(branch)
    save.stdout.on('error', (error) => this.branches.forEach((branch) => branch.destroy(error)))
  }

  /** Branch `index` (0 to count - 1), for one host's transfer. */
  branch(index: number): SaveStream {
    const stdout = this.branches[index]
    let stopped = false
    return {
      stdout,
      done: this.save.done,
      stop: () => {
        if (stopped) return
        stopped = true
        // Its reader is gone: the others must not wait on it.
        this.save.stdout.unpipe(stdout)
        stdout.destroy()
        if (--this.open === 0) this.save.stop()
      }
    }
  }
}

/** A branch handed to one host's run as its image source: a second take (a full resend) starts a save of its own. */
export class FanoutSource implements ImageSource {
  private branch?: SaveStream

  constructor(
    private readonly ref: string,
    branch: SaveStream,
    private readonly start: (ref: string) => SaveStream
  ) {
    this.branch = branch
  }

  take(ref: string): SaveStream {
    const branch = ref === this.ref ? this.branch : undefined
    this.branch = undefined
    if (branch) return branch
    this.stop()
    return this.start(ref)
  }

  stop(): void {
    this.branch?.stop()
    this.branch = undefined
  }
}
