import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'

const core = coreMock()
const deploy = jest.fn<() => Promise<unknown>>()
jest.unstable_mockModule('@actions/core', () => core)
jest.unstable_mockModule('../src/rollout/single-host.js', () => ({ deploy }))
const { run } = await import('../src/main.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'

beforeEach(() => {
  core.failed.splice(0)
  core.inputs = { host: 'example.com', key: KEY, image: 'web:1' }
  process.env.GITHUB_STEP_SUMMARY = '/dev/null'
})

describe('run', () => {
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
