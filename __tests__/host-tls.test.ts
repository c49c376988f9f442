import { parseTlsState } from '../src/host/tls.js'

describe("the certificate store's state", () => {
  it('reads the workers\' user, the renewal container, every record and order, and skips a torn file', () => {
    const record = { id: 'web', names: ['a.example.com'], serial: '1f', notBefore: '', notAfter: '2027-01-01T00:00:00.000Z', issuer: 'CN=X', source: 'auto', installedAt: '' }
    const order = { id: 'web', names: ['a.example.com'], directoryUrl: 'https://ca/dir' }
    const state = parseTlsState([
      'OWNER 101:101', 'RENEW bluegreen-renew:0123456789ab running', `FACTS ${JSON.stringify(record)}`, 'FACTS {"id":"torn"', `ORDERS ${JSON.stringify(order)}`, ''
    ].join('\n'))
    expect(state).toEqual({ owner: '101:101', renew: { image: 'bluegreen-renew:0123456789ab', status: 'running' }, records: [record], orders: [order] })
  })

  it('knows no owner when the proxy did not say, and no renewal container when there is none', () => {
    expect(parseTlsState('OWNER unknown\nRENEW none missing\n')).toEqual({ owner: undefined, renew: { status: 'missing' }, records: [], orders: [] })
    expect(parseTlsState('OWNER nginx\n').owner).toBeUndefined()
  })
})
