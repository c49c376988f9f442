import { saveImage } from '../src/image/runner.js'
import { stubCommands } from './support/local-host.js'

// docker save against a stub `docker` that, like the Docker CLI, does not die of SIGTERM while
// it is blocked writing an archive nobody reads.
describe('saveImage', () => {
  const stubs = stubCommands({
    docker: `#!/bin/sh
trap '' TERM
exec head -c 100000000 /dev/zero
`
  })
  afterAll(() => stubs.remove())

  it('ends a save stopped unread: its pipe closes, so docker save ends and does not hold the process', async () => {
    const save = saveImage('web:1', `${stubs.dir}/docker`)
    // The first chunks wait in the paused pipe, as when the host turns out to have the image;
    // `done` settles only once the process has exited.
    for (let i = 0; i < 500 && save.stdout.readableLength === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(save.stdout.readableLength).toBeGreaterThan(0)
    save.stop()
    let timer: NodeJS.Timeout | undefined
    const ended = await Promise.race([
      save.done.then(() => 'resolved', () => 'rejected'),
      new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 5000)))
    ])
    clearTimeout(timer) // a pending timer would keep jest from exiting
    expect(ended).toBe('rejected')
  })
})
