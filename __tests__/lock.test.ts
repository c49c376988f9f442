import { jest } from '@jest/globals'
import type { Readable } from 'node:stream'
import { openLock, type LockOptions } from '../src/host/lock.js'
import type { ExecOptions, RunResult, Ssh } from '../src/ssh/connection.js'

/** An SSH connection whose lock session says what `answer` makes it say once it reads "go". */
function fakeSsh(answer: (onLine: (line: string) => void) => Promise<RunResult> | void): Ssh {
  return {
    exec: (_command: string, options: ExecOptions = {}) =>
      new Promise<RunResult>((resolve) => {
        ;(options.stdin as Readable).once('data', () => {
          const ended = answer(options.onLine ?? (() => undefined))
          if (ended) void ended.then(resolve)
        })
      })
  } as unknown as Ssh
}

function options(extra: Partial<LockOptions> = {}): LockOptions {
  return { service: 'web', timeoutSeconds: 30, holder: 'run 1', onWait: () => undefined, ...extra }
}

describe('the deploy lock', () => {
  afterEach(() => jest.useRealTimers())

  it('is taken when the host says LOCKED, with the generation it counted', async () => {
    let release: (result: RunResult) => void = () => undefined
    const ssh = fakeSsh((say) => {
      say('LOCKED 7')
      return new Promise<RunResult>((resolve) => (release = resolve))
    })
    const lock = await openLock(Promise.resolve(ssh), options()).acquire()
    expect(lock.generation).toBe(7)
    const released = lock.release()
    release({ code: 0, stdout: '', stderr: '' })
    await released
  })

  it('names the holder while another deploy has it, and after lock-timeout', async () => {
    const waits: string[] = []
    const ssh = fakeSsh((say) => {
      say('WAITING run 0 (octocat)')
      say('TIMEOUT run 0 (octocat)')
      return Promise.resolve({ code: 75, stdout: '', stderr: '' })
    })
    const acquire = openLock(Promise.resolve(ssh), options({ onWait: (holder) => waits.push(holder) })).acquire()
    await expect(acquire).rejects.toThrow('Timed out after 30 s (lock-timeout) waiting for the deploy lock of web, held by: run 0 (octocat)')
    expect(waits).toEqual(['run 0 (octocat)'])
  })

  it('says so when the host stays silent, and gives up after lock-timeout and the heartbeat grace', async () => {
    jest.useFakeTimers()
    const silences: number[] = []
    const acquire = openLock(Promise.resolve(fakeSsh(() => undefined)), options({ onSilent: (s) => silences.push(s) })).acquire()
    const failed = expect(acquire).rejects.toThrow('The host did not answer the deploy lock request of web within 90 s')
    await jest.advanceTimersByTimeAsync(10_000)
    expect(silences).toEqual([10])
    await jest.advanceTimersByTimeAsync(80_000)
    await failed
    expect(silences).toEqual([10])
  })

  it('stays quiet about silence once the host has answered', async () => {
    jest.useFakeTimers()
    const silences: number[] = []
    const ssh = fakeSsh((say) => say('WAITING run 0'))
    void openLock(Promise.resolve(ssh), options({ onSilent: (s) => silences.push(s) })).acquire().catch(() => undefined)
    await jest.advanceTimersByTimeAsync(20_000)
    expect(silences).toEqual([])
  })
})
