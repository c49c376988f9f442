import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hostLayers } from '../src/host/images.js'
import { bashCommand, type RunResult, type Ssh } from '../src/ssh.js'
import { chainIds } from '../src/transfer/layers.js'

// The layer listing runs here under bash with the same strict mode as on a host, against a
// stub `docker` that answers like an engine holding IMAGES images on the containerd store.
const IMAGES = 3000
const layer = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`

const STUB_DOCKER = `#!/bin/sh
case "$1 $2" in
  "image ls")
    i=0; while [ "$i" -lt ${IMAGES} ]; do printf 'sha256:%064x\\n' "$i"; i=$((i + 1)); done ;;
  "image inspect")
    if [ "$3" = --format ]; then
      shift 4; for id in "$@"; do printf '["%s"]\\n' "$(printf 'sha256:%064x' 7)"; done
    else
      # The descriptor comes first, then far more than a pipe holds.
      echo '[{"Id": "x", "Descriptor": {"mediaType": "application/vnd.oci.image.index.v1+json"},'
      i=0; while [ "$i" -lt 4000 ]; do echo '  "padding": "................................................",'; i=$((i + 1)); done
      echo '}]'
    fi ;;
  *) echo "stub docker: unexpected $*" >&2; exit 1 ;;
esac
`

describe('the host layer listing', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bg-layers-'))
    writeFileSync(join(dir, 'docker'), STUB_DOCKER)
    chmodSync(join(dir, 'docker'), 0o755)
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  /** Runs each script as the host would, with the stub first on the PATH. */
  const localSsh = {
    run: async (script: string, args: string[] = []): Promise<RunResult> => {
      const child = spawnSync('sh', ['-c', bashCommand(script, args)], {
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
        encoding: 'utf8',
        maxBuffer: 64 << 20
      })
      return { code: child.status ?? 1, stdout: child.stdout.trim(), stderr: child.stderr }
    }
  } as unknown as Ssh

  it('reads every image and the containerd store on a host whose lists outgrow a pipe', async () => {
    const found = await hostLayers(localSsh)
    expect(found.containerdStore).toBe(true)
    expect([...found.chainIds]).toEqual(chainIds([layer(7)]))
  })
})
