import { defaultServiceName, parseImageRef } from '../src/image/ref.js'

describe('parseImageRef', () => {
  it.each([
    ['web:1', { path: 'web', tag: '1' }],
    ['acme/web:1.2.3', { path: 'acme/web', tag: '1.2.3' }],
    ['ghcr.io/acme/web:sha-abc', { domain: 'ghcr.io', path: 'acme/web', tag: 'sha-abc' }],
    ['localhost:5000/web:2', { domain: 'localhost:5000', path: 'web', tag: '2' }],
    [`web@sha256:${'a'.repeat(64)}`, { path: 'web', digest: `sha256:${'a'.repeat(64)}` }]
  ])('reads %s', (text, expected) => {
    expect(parseImageRef(text)).toMatchObject({ text, ...expected })
  })

  it.each(['app:1;touch /tmp/x', 'a b', '$(id)', 'Web:1', 'web:', '`id`:1', "web:1'", 'web@sha256:short', ''])(
    'refuses %j',
    (text) => expect(parseImageRef(text)).toBeUndefined()
  )
})

describe('defaultServiceName', () => {
  it.each([
    ['ghcr.io/acme/web:1', 'web'],
    ['acme/my_app:1', 'my-app'],
    ['registry.example.com:5000/team/api.v2:7', 'api-v2'],
    ['hello__world:1', 'hello-world']
  ])('%s → %s', (text, service) => {
    expect(defaultServiceName(parseImageRef(text)!)).toBe(service)
  })
})
