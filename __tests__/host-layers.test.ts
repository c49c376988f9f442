import { hostLayers, hostTakesZstd, loadCommand } from '../src/host/images.js'
import { chainIds } from '../src/transfer/layers.js'
import { localSsh, stubCommands } from './support/local-host.js'

// The layer listing runs here under bash with the same strict mode as on a host, against a
// stub `docker` that answers like an engine holding IMAGES images on the store $STORE names.
const IMAGES = 3000
const layer = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`

const STUB_DOCKER = `#!/bin/sh
case "$1 $2" in
  "image ls")
    [ -z "$IMAGES_NONE" ] || exit 0
    i=0; while [ "$i" -lt ${IMAGES} ]; do printf 'sha256:%064x\\n' "$i"; i=$((i + 1)); done ;;
  "image inspect")
    layer=$(printf 'sha256:%064x' 7)
    shift 4; for id in "$@"; do
      printf '{"Id":"%s","RootFS":{"Type":"layers","Layers":["%s"]},"Config":{"Cmd":["run"]},"Os":"linux","Architecture":"amd64","GraphDriver":{"Name":"%s"}}\\n' "$id" "$layer" "$DRIVER"
    done ;;
  "info --format")
    [ "$STORE" = containerd ] && echo '[["driver-type","io.containerd.snapshotter.v1"]]' ||
      echo '[["Backing Filesystem","extfs"],["Supports d_type","true"],["Native Overlay Diff","true"]]' ;;
  *) echo "stub docker: unexpected $*" >&2; exit 1 ;;
esac
`

describe('the host layer listing', () => {
  const stubs = stubCommands({ docker: STUB_DOCKER })
  afterAll(() => stubs.remove())

  it('reads every image and the containerd store on a host whose lists outgrow a pipe', async () => {
    const found = await hostLayers(localSsh(stubs.dir, { STORE: 'containerd', DRIVER: 'overlayfs' }))
    expect(found.containerdStore).toBe(true)
    expect(found.images).toHaveLength(IMAGES)
    expect(found.images[IMAGES - 1]).toMatchObject({ id: layer(IMAGES - 1), diffIds: [layer(7)], containerdStore: true })
    expect([...found.chainIds]).toEqual(chainIds([layer(7)]))
  })

  it('tells the classic store, and the store of a host with no images yet', async () => {
    const classic = await hostLayers(localSsh(stubs.dir, { STORE: 'classic', DRIVER: 'overlay2' }))
    expect(classic.containerdStore).toBe(false)
    expect(classic.images[0].containerdStore).toBe(false)
    const empty = await hostLayers(localSsh(stubs.dir, { STORE: 'containerd', IMAGES_NONE: 'yes' }))
    expect(empty).toEqual({ chainIds: new Set(), images: [], containerdStore: true })
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
