import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'
import type { AddressInfo } from 'node:net'
import ssh2 from 'ssh2'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { Ssh } = await import('../src/ssh/connection.js')

// A real ssh2 server in this process: it accepts any key and runs nothing.
const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private
const clientKey = ssh2.utils.generateKeyPairSync('ed25519').private
const server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
  client.on('authentication', (ctx) => ctx.accept())
  client.on('error', () => undefined)
})
const connections: ssh2.Connection[] = []
server.on('connection', (connection) => void connections.push(connection))
beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)))
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

const connect = () =>
  Ssh.connect({
    host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'deploy', key: clientKey, passphrase: '',
    timeout: 5, hostKey: { kind: 'none' }
  })

/** What node-ssh keeps: the ssh2 Client of the connection. */
const clientOf = (ssh: Awaited<ReturnType<typeof Ssh.connect>>) => (ssh as unknown as { client: { connection: ssh2.Client } }).client.connection

describe('a connection lost mid-run', () => {
  it('an error ssh2 emits after connecting (keepalive timeout) is taken, not thrown; the connection counts as lost and steps fail at once', async () => {
    const ssh = await connect()
    const timeout = Object.assign(new Error('Keepalive timeout'), { level: 'client-timeout' })
    // With no listener left, EventEmitter throws this, and in the action Node ends the process.
    expect(() => clientOf(ssh).emit('error', timeout)).not.toThrow()
    expect(ssh.lost()).toBe('no answer from the host for over 60 s (SSH keepalive timeout)')
    await expect(ssh.run('true')).rejects.toThrow()
    ssh.close()
  })

  it('a connection the host closes counts as lost; one this run closes does not', async () => {
    const ssh = await connect()
    const closed = new Promise((resolve) => clientOf(ssh).once('close', () => resolve(undefined)))
    for (const connection of connections) connection.end()
    await closed
    expect(ssh.lost()).toBe('the host closed the connection')
    const mine = await connect()
    const gone = new Promise((resolve) => clientOf(mine).once('close', () => resolve(undefined)))
    mine.close()
    await gone
    expect(mine.lost()).toBeUndefined()
  })
})
