import { verifyHostImage } from '../src/host/images.js'
import { parseImageInspect, sameImage } from '../src/image/info.js'
import { localSsh, stubCommands } from './support/local-host.js'

// One image as two engines print it: Debian's Docker 20.10 on the classic store (every container
// field, empty ones included, named by its config digest) and an engine on the containerd store
// (only the OCI config fields, named by its index digest; Docker 28+ adds a Descriptor, Docker 26
// only names its snapshotter).
const LAYERS = ['sha256:' + '1'.repeat(64), 'sha256:' + '2'.repeat(64)]
const CLASSIC = {
  Id: 'sha256:' + 'a'.repeat(64),
  RepoTags: ['web:2'],
  Parent: '',
  DockerVersion: '20.10.24+dfsg1',
  Config: {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    ExposedPorts: { '8080/tcp': {} }, Tty: false, OpenStdin: false, StdinOnce: false,
    Env: ['PATH=/bin', 'MODE=prod'], Cmd: ['/app/start.sh'], Image: 'sha256:' + 'b'.repeat(64),
    Volumes: null, WorkingDir: '/app', Entrypoint: null, OnBuild: null, Labels: { tier: 'web', app: 'shop' }
  },
  Architecture: 'amd64',
  Os: 'linux',
  Size: 4_000_000,
  RootFS: { Type: 'layers', Layers: LAYERS }
}
const CONTAINERD = {
  Id: 'sha256:' + 'c'.repeat(64),
  RepoTags: ['web:2'],
  Config: {
    Env: ['PATH=/bin', 'MODE=prod'], Cmd: ['/app/start.sh'], WorkingDir: '/app',
    Labels: { app: 'shop', tier: 'web' }, ExposedPorts: { '8080/tcp': {} }
  },
  Architecture: 'amd64',
  Os: 'linux',
  Size: 2_100_000,
  RootFS: { Type: 'layers', Layers: LAYERS },
  Descriptor: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: 'sha256:' + 'c'.repeat(64), size: 856 }
}

const parse = (json: object) => parseImageInspect(JSON.stringify([json]))

describe('sameImage across image stores', () => {
  const classic = parse(CLASSIC)
  const containerd = parse(CONTAINERD)

  it('matches a classic and a containerd-store copy by layers and run config, in either order', () => {
    expect(classic.configKey).toBe(containerd.configKey)
    expect(sameImage(classic, containerd)).toBe(true)
    expect(sameImage(containerd, classic)).toBe(true)
  })

  it('tells them apart when a run setting or a layer differs', () => {
    const otherCmd = parse({ ...CONTAINERD, Config: { ...CONTAINERD.Config, Cmd: ['/app/other.sh'] } })
    const otherEnv = parse({ ...CONTAINERD, Config: { ...CONTAINERD.Config, Env: ['PATH=/bin', 'MODE=dev'] } })
    const otherLayer = parse({ ...CONTAINERD, RootFS: { Type: 'layers', Layers: [LAYERS[0]] } })
    for (const other of [otherCmd, otherEnv, otherLayer]) {
      expect(sameImage(classic, other)).toBe(false)
      expect(sameImage(other, classic)).toBe(false)
    }
  })

  it('knows the containerd store of Docker 26, whose inspect has no Descriptor, by its snapshotter', () => {
    const docker26 = { ...CONTAINERD, Descriptor: undefined, GraphDriver: { Name: 'overlayfs', Data: null } }
    expect(parse(docker26).containerdStore).toBe(true)
    expect(sameImage(classic, parse(docker26))).toBe(true)
    expect(parse({ ...CLASSIC, GraphDriver: { Name: 'overlay2', Data: { UpperDir: '/x' } } }).containerdStore).toBe(false)
  })

  it('between two classic engines, only the ID decides: a rebuild of the same content is another image', () => {
    expect(sameImage(classic, parse({ ...CLASSIC, Id: 'sha256:' + 'd'.repeat(64), Created: '2026-11-22T11:00:00Z' }))).toBe(false)
  })

  it('never takes an image without layers for another by its content', () => {
    const empty = { ...CONTAINERD, RootFS: { Type: 'layers', Layers: [] } }
    expect(sameImage(parse(empty), parse({ ...empty, Id: 'sha256:' + 'd'.repeat(64) }))).toBe(false)
  })
})

describe("verifyHostImage: the host's view after docker load", () => {
  // A stub docker that answers `docker image inspect` as a containerd-store host does.
  const stubs = stubCommands({
    docker: `#!/bin/sh
[ "$1 $2" = "image inspect" ] || { echo "stub docker: unexpected $*" >&2; exit 1; }
eval "last=\\\${$#}"
case "$last" in web:2|${CONTAINERD.Id}) echo '${JSON.stringify(CONTAINERD)}' ;; *) echo "Error: No such image: $last" >&2; exit 1 ;; esac
`
  })
  afterAll(() => stubs.remove())

  it("accepts a classic runner's image that a containerd-store host names by its manifest", async () => {
    const verified = await verifyHostImage(localSsh(stubs.dir), parse(CLASSIC), 'web:2')
    expect(verified.problem).toBeUndefined()
    expect(verified.image?.id).toBe(CONTAINERD.Id)
  })

  it('refuses a load that left other layers under the name', async () => {
    const sent = parse({ ...CLASSIC, RootFS: { Type: 'layers', Layers: [...LAYERS, 'sha256:' + '3'.repeat(64)] } })
    const verified = await verifyHostImage(localSsh(stubs.dir), sent, 'web:2')
    expect(verified.problem).toMatch(/other layers or config than the runner's/)
  })
})
