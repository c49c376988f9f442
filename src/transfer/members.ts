import { Transform, type TransformCallback } from 'node:stream'
import { WINDOW_BYTES, WINDOW_MS, type LevelTuner, type Window } from './level-tuner.js'

/** One member written: its level and how much of the archive went into it. */
export interface Member {
  level: number
  inBytes: number
}

/**
 * A compressed stream made of members (gzip members, zstd frames), each at one level. A change
 * of level ends the member and starts the next: zlib's params() was measured to change nothing
 * mid-stream for gzip, and Node's zstd has no params() at all. Concatenated members are one
 * valid stream to `gzip -d`, `zstd -d` and docker load.
 *
 * It also clocks where the time goes, window by window, for the tuner: waiting for the archive
 * (between chunks), waiting for the link (output paused), or compressing (the rest).
 */
export abstract class MemberStream extends Transform {
  readonly members: Member[] = []
  private member?: Transform
  private current?: Member
  /** Resumes a member paused because the reader of this stream was full. */
  private resumeMember?: () => void
  private window = freshWindow(performance.now())
  private inputWaitSince?: number
  /** The link wait so far when the last chunk was taken: a wait for both is the link's. */
  private linkWaitAtDone = 0
  private pausedSince?: number

  constructor(protected readonly tuner: LevelTuner) {
    super()
  }

  /** The level these bytes go out at (0: stored, for codecs that can store). */
  protected abstract levelFor(chunk: Buffer, tuned: number): number
  protected abstract createMember(level: number): Transform

  /** The levels of the members written, in order. */
  get levels(): number[] {
    return this.members.map((member) => member.level)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const now = performance.now()
    // Node does not hand over the next chunk while this stream's output is full: that wait
    // is the link's, not docker save's.
    if (this.inputWaitSince !== undefined) {
      const linkMeanwhile = this.linkWait(now) - this.linkWaitAtDone
      this.window.inputWaitMs += Math.max(0, now - this.inputWaitSince - linkMeanwhile)
    }
    this.inputWaitSince = undefined
    const wanted = this.levelFor(chunk, this.tunedLevel(now))
    this.window.inBytes += chunk.length
    const finish = (): void => {
      this.inputWaitSince = performance.now()
      this.linkWaitAtDone = this.linkWait(this.inputWaitSince)
      done()
    }
    if (this.member && wanted === this.current!.level) return this.feed(chunk, finish)
    this.endMember(() => {
      this.startMember(wanted)
      this.feed(chunk, finish)
    })
  }

  override _flush(done: TransformCallback): void {
    this.endMember(() => done())
  }

  override _read(size: number): void {
    if (this.pausedSince !== undefined) this.window.linkWaitMs += performance.now() - this.pausedSince
    this.pausedSince = undefined
    const resume = this.resumeMember
    this.resumeMember = undefined
    resume?.()
    super._read(size)
  }

  /** The link wait of this window, the pause going on included. */
  private linkWait(now: number): number {
    return this.window.linkWaitMs + (this.pausedSince === undefined ? 0 : now - this.pausedSince)
  }

  /** Closes the window once it is long enough, and asks the tuner for the next level. */
  private tunedLevel(now: number): number {
    const window = this.window
    if (window.inBytes < WINDOW_BYTES || now - window.startedAt < WINDOW_MS) return this.tuner.level
    window.linkWaitMs = this.linkWait(now)
    if (this.pausedSince !== undefined) this.pausedSince = now
    window.wallMs = now - window.startedAt
    this.window = freshWindow(now)
    this.linkWaitAtDone = 0
    return this.tuner.next(window)
  }

  private feed(chunk: Buffer, done: () => void): void {
    this.current!.inBytes += chunk.length
    if (this.member!.write(chunk)) done()
    else this.member!.once('drain', done)
  }

  private startMember(level: number): void {
    const member = this.createMember(level)
    member.on('data', (out: Buffer) => {
      this.window.outBytes += out.length
      if (this.push(out)) return
      member.pause()
      this.pausedSince ??= performance.now()
      this.resumeMember = () => member.resume()
    })
    member.on('error', (error) => this.destroy(error))
    this.member = member
    this.current = { level, inBytes: 0 }
    this.members.push(this.current)
  }

  private endMember(then: () => void): void {
    const member = this.member
    if (!member) return then()
    this.member = undefined
    member.once('end', then)
    // Node's zlib finishes a stream with an empty write of its own. When end() comes while
    // chunks are still queued, the last of them already closes the zstd frame, and that empty
    // write makes a second, empty frame (9 bytes, window size 0), on which Docker 26's own zstd
    // decoder takes its daemon down mid-load. An empty write of ours first lets every queued
    // chunk through without closing the frame.
    member.write(EMPTY, () => member.end())
  }
}

const EMPTY = Buffer.alloc(0)

function freshWindow(startedAt: number): Window & { startedAt: number } {
  return { startedAt, wallMs: 0, linkWaitMs: 0, inputWaitMs: 0, inBytes: 0, outBytes: 0 }
}
