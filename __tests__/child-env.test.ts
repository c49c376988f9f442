import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { childEnv } from '../src/image/child-env.js'
import { stubCommands } from './support/local-host.js'
import { tempDir } from './support/temp-dir.js'

const SECRETS = {
  INPUT_KEY: '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-body\n-----END OPENSSH PRIVATE KEY-----',
  INPUT_PASSPHRASE: 'secret passphrase',
  INPUT_ENV: 'DATABASE_URL=postgres://secret',
  INPUT_HOST: 'example.com',
  DOCKER_PASSWORD: 'secret registry password',
  GITHUB_TOKEN: 'secret token',
  ACTIONS_RUNTIME_TOKEN: 'secret runtime token'
}

describe('childEnv', () => {
  it('keeps what the docker CLI needs and drops inputs, tokens and every other variable', () => {
    const env = {
      ...SECRETS, PATH: '/usr/bin', HOME: '/home/runner', DOCKER_HOST: 'unix:///run/docker.sock', DOCKER_CONFIG: '/cfg',
      LANG: 'C.UTF-8', TMPDIR: '/tmp/x', SSH_AUTH_SOCK: '/run/agent', RUNNER_TEMP: '/tmp/runner', NODE_OPTIONS: '--require x'
    }
    expect(childEnv(env)).toEqual({
      PATH: '/usr/bin', HOME: '/home/runner', DOCKER_HOST: 'unix:///run/docker.sock', DOCKER_CONFIG: '/cfg', LANG: 'C.UTF-8',
      TMPDIR: '/tmp/x', SSH_AUTH_SOCK: '/run/agent'
    })
  })
})

// A real node process (jest's own process.env is not what children inherit) with the secrets in
// its environment runs each way the action calls the runner's docker; a stand-in docker first on
// the PATH writes down the environment each call gets.
describe('the docker children of the runner', () => {
  const dir = tempDir('bg-child-env-')
  const stubs = stubCommands({ docker: `#!/bin/sh\nenv > "${dir}/env.$$"\nexit 1\n` })
  afterAll(() => stubs.remove())
  const runner = resolve('src/image/runner.ts')

  it('see none of the inputs or secrets of the action, through @actions/exec or spawn', () => {
    const script = join(dir, 'calls.mts')
    writeFileSync(script, `import { inspectRunnerImage, runnerLayerSizes, saveImage } from ${JSON.stringify(runner)}
await inspectRunnerImage('web:1')
await runnerLayerSizes('web:1')
await saveImage('web:1').done.catch(() => undefined)
`)
    execFileSync(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, ...SECRETS, PATH: `${stubs.dir}:${process.env.PATH}` },
      stdio: 'pipe'
    })
    const seen = readdirSync(dir).filter((file) => file.startsWith('env.')).map((file) => readFileSync(join(dir, file), 'utf8'))
    expect(seen).toHaveLength(3)
    const all = seen.join('\n')
    expect(all).not.toMatch(/^(INPUT_|DOCKER_PASSWORD|GITHUB_TOKEN|ACTIONS_)/m)
    expect(all).not.toContain('secret')
    for (const env of seen) expect(env).toContain(`PATH=${stubs.dir}:`)
  })
})
