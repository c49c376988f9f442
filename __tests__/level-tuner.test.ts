import { LevelTuner, describeLevels, type Window } from '../src/transfer/level-tuner.js'

const MiB = 1 << 20
/** A 4 MiB window of 100 ms that compresses to a third, with the given waits. */
const window = (linkWaitMs: number, inputWaitMs = 0, outBytes = (4 * MiB) / 3): Window => ({
  wallMs: 100, linkWaitMs, inputWaitMs, inBytes: 4 * MiB, outBytes
})

/** A tuner past its first window, which only fills the buffers and never moves the level. */
function warmed(tuner: LevelTuner): LevelTuner {
  const start = tuner.level
  expect(tuner.next(window(0))).toBe(start)
  return tuner
}

describe('LevelTuner', () => {
  it('climbs while the link keeps the compressor waiting, as far as the CPU it had to spare allows', () => {
    const tuner = warmed(new LevelTuner('zstd', 1, 9, 3))
    // Busy 30% at zstd 3: zstd 5 costs 1.7 times as much (51%), zstd 6 2.4 times (73%, too much).
    // Busy 30% again at 5: zstd 9 costs 2.1 times as much.
    expect([tuner.next(window(70)), tuner.next(window(70)), tuner.next(window(70))]).toEqual([5, 9, 9])
  })

  it('goes straight to its maximum on a link that leaves the compressor idle (20 Mbit/s)', () => {
    expect(warmed(new LevelTuner('zstd', 1, 9, 3)).next(window(95))).toBe(9)
    expect(warmed(new LevelTuner('gzip', 1, 6, 1)).next(window(95))).toBe(6)
  })

  it('steps down while the compressor is the slowest stage, down to its minimum', () => {
    const tuner = warmed(new LevelTuner('zstd', 1, 9, 3))
    expect([tuner.next(window(5)), tuner.next(window(0)), tuner.next(window(10))]).toEqual([2, 1, 1])
  })

  it('holds between the two marks, and when docker save is the one waited on', () => {
    const tuner = warmed(new LevelTuner('zstd', 1, 9, 5))
    expect(tuner.next(window(35))).toBe(5) // busy 65%: zstd 6 would cost 95%, and it is not too busy
    expect(tuner.next(window(10, 60))).toBe(5) // busy 30%, but the wait is for the archive
  })

  it('drops to its minimum on data that does not compress, where a higher level only costs', () => {
    const tuner = warmed(new LevelTuner('zstd', 1, 9, 7))
    expect(tuner.next(window(90, 0, 4 * MiB))).toBe(1)
  })

  it('never moves a level the user set', () => {
    const tuner = LevelTuner.fixed('zstd', 6)
    expect(tuner.adapts).toBe(false)
    expect([tuner.next(window(90)), tuner.next(window(0)), tuner.next(window(90, 0, 4 * MiB))]).toEqual([6, 6, 6])
  })

  it('keeps the start inside its bounds', () => {
    expect(new LevelTuner('gzip', 1, 6, 9).level).toBe(6)
    expect(new LevelTuner('gzip', 2, 6, 1).level).toBe(2)
  })
})

describe('describeLevels', () => {
  it('names one level, or the range and the level most of the archive went out at', () => {
    expect(describeLevels([{ level: 3, inBytes: 10 }])).toBe('3')
    expect(describeLevels([{ level: 3, inBytes: 4 }, { level: 4, inBytes: 4 }, { level: 5, inBytes: 90 }, { level: 4, inBytes: 8 }]))
      .toBe('3 to 5, mostly 5')
    // A member that got no bytes (the stream ended as it began) does not count.
    expect(describeLevels([{ level: 3, inBytes: 10 }, { level: 1, inBytes: 0 }])).toBe('3')
    expect(describeLevels([])).toBe('')
    // Gzip stores what does not compress (level 0).
    expect(describeLevels([{ level: 1, inBytes: 10 }, { level: 0, inBytes: 30 }])).toBe('1, stored where it does not compress')
    expect(describeLevels([{ level: 0, inBytes: 30 }])).toBe('none, nothing compressed')
  })
})
