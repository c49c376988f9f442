import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'

const core = coreMock()
const deploy = jest.fn<() => Promise<unknown>>()
jest.unstable_mockModule('@actions/core', () => core)
jest.unstable_mockModule('../src/rollout/single-host.js', () => ({ deploy }))
const { run } = await import('../src/main.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'

// run() leaves its last-resort handlers on the process; each test takes off those it added.
const EVENTS = ['uncaughtException', 'unhandledRejection'] as const
type Listener = (...args: unknown[]) => void
const listeners = (event: (typeof EVENTS)[number]): Listener[] => process.listeners(event as 'uncaughtException') as unknown as Listener[]
let before: Set<unknown>
let streamsBefore: Set<unknown>
beforeEach(() => {
  before = new Set(EVENTS.flatMap(listeners))
  streamsBefore = new Set([...process.stdout.listeners('error'), ...process.stderr.listeners('error')])
})
afterEach(() => {
  for (const event of EVENTS) for (const listener of listeners(event)) if (!before.has(listener)) process.removeListener(event, listener)
  for (const stream of [process.stdout, process.stderr]) {
    for (const listener of stream.listeners('error')) if (!streamsBefore.has(listener)) stream.removeListener('error', listener as Listener)
  }
})
/** The handler run() added for `event`. */
const added = (event: (typeof EVENTS)[number]) =>
  listeners(event).filter((listener) => !before.has(listener))[0]
/** A deploy that stays in one phase, as when the connection under it breaks. */
const stuckIn = (name: string, title: string) => async (...args: unknown[]) => {
  const { phases } = args[1] as { phases: { run: (name: string, title: string, body: () => Promise<never>) => Promise<never> } }
  return phases.run(name, title, () => new Promise<never>(() => undefined))
}
const tick = () => new Promise((resolve) => setImmediate(resolve))

beforeEach(() => {
  core.failed.splice(0)
  core.inputs = { host: 'example.com', key: KEY, image: 'web:1' }
  process.env.GITHUB_STEP_SUMMARY = '/dev/null'
})

describe('run', () => {
  it('an error that escapes every handler still fails the step once, with a summary, naming the phase', async () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never)
    core.summary.addRaw.mockClear()
    deploy.mockImplementationOnce(stuckIn('transfer', 'Transfer the image'))
    void run()
    await tick()
    const crash = added('uncaughtException')
    crash(Object.assign(new Error('Keepalive timeout'), { level: 'client-timeout' }), 'uncaughtException')
    crash(new Error('Premature close'), 'uncaughtException') // a second one reports nothing more
    await tick()
    expect(core.failed).toEqual([
      'Lost the connection to the host root@example.com:22 during the transfer phase (Transfer the image): no answer from the host for over 60 s (SSH keepalive timeout).'
    ])
    expect(core.summary.addRaw).toHaveBeenCalledTimes(1)
    expect(core.summary.addRaw).toHaveBeenCalledWith(expect.stringContaining('## Deploy failed\n\n> Lost the connection'), true)
    expect(exit).toHaveBeenCalledWith(1)
    exit.mockRestore()
  })

  it('says which phase an unexpected error came from', async () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never)
    deploy.mockImplementationOnce(stuckIn('health', 'Health-check web-green'))
    void run()
    await tick()
    added('unhandledRejection')(new Error('already finalized or destroyed'))
    await tick()
    expect(core.failed).toEqual(['The run stopped on an unexpected error during the health phase (Health-check web-green): already finalized or destroyed'])
    expect(exit).toHaveBeenCalledWith(1)
    exit.mockRestore()
  })

  it('fails the step with the message of a thrown Error', async () => {
    deploy.mockRejectedValueOnce(new Error('Health check of web-green failed'))
    await run()
    expect(core.failed).toEqual(['Health check of web-green failed'])
    expect(core.summary.addRaw).toHaveBeenCalledWith(expect.stringContaining('## Deploy failed'), true)
  })

  it('fails the step with whatever else was thrown', async () => {
    deploy.mockRejectedValueOnce('plain string')
    await run()
    expect(core.failed).toEqual(['plain string'])
  })

  it('fails on bad input before deploying', async () => {
    core.inputs.image = 'app:1;touch /tmp/x'
    deploy.mockClear()
    await run()
    expect(core.failed[0]).toMatch(/^image: expected name:tag/)
    expect(deploy).not.toHaveBeenCalled()
  })
})
