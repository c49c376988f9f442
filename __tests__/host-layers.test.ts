import { hostLayers, hostTakesZstd, loadCommand } from '../src/host/images.js'
import { chainIds } from '../src/transfer/layers.js'
import { localSsh, stubCommands } from './support/local-host.js'

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
  const stubs = stubCommands({ docker: STUB_DOCKER })
  afterAll(() => stubs.remove())

  it('reads every image and the containerd store on a host whose lists outgrow a pipe', async () => {
    const found = await hostLayers(localSsh(stubs.dir))
    expect(found.containerdStore).toBe(true)
    expect([...found.chainIds]).toEqual(chainIds([layer(7)]))
  })
})

describe('loadCommand', () => {
  it('lets docker load unpack what it can itself, and puts a decompressor in front where it cannot', () => {
    expect(loadCommand('gzip', '20.10.24+dfsg1', false)).toBe('docker load')
    expect(loadCommand('gzip', '24.0.7', true)).toBe('gzip -dc | docker load') // moby#46605
    expect(loadCommand('gzip', '29.0.1', true)).toBe('docker load')
    expect(loadCommand('zstd', '20.10.24+dfsg1', false)).toBe('zstd -dc | docker load')
    expect(loadCommand('zstd', '25.0.0', true)).toBe('docker load')
    expect(loadCommand('none', '24.0.7', true)).toBe('docker load')
  })

  it('takes zstd from a host with the zstd command or Docker 25 and later', () => {
    expect(hostTakesZstd({ user: 'u', dockerVersion: '20.10.24+dfsg1', tools: ['zstd'] })).toBe(true)
    expect(hostTakesZstd({ user: 'u', dockerVersion: '24.0.7', tools: [] })).toBe(false)
    expect(hostTakesZstd({ user: 'u', dockerVersion: '29.0.1', tools: [] })).toBe(true)
  })
})
