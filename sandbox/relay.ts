// A TCP relay that adds latency: listens on 127.0.0.1 and forwards each connection to a target
// (a node's sshd), holding every chunk for a fixed one-way delay in each direction. This kernel
// has no netem, so a WAN's round trip comes from here; its bandwidth from `nodes.sh shape`.
// Order is kept (one FIFO per direction), and so is backpressure: a direction whose queue holds
// more than maxQueuedBytes pauses its reader, and nothing is written past a full socket buffer
// until it drains. Bounded: a connection count, a queue size, and an optional lifetime.
// Only node built-ins. As a command: tsx sandbox/relay.ts --to 10.250.0.11:22 --delay-ms 20 [--port 0] [--max-seconds 600]
import net from 'node:net'
import { pathToFileURL } from 'node:url'

export interface RelayOptions {
  /** Where each connection goes. */
  target: { host: string; port: number }
  /** Added to each chunk, each way: the round trip grows by twice this. */
  delayMs: number
  /** 127.0.0.1 port to listen on; 0 (default) picks a free one. */
  port?: number
  /** Connections at once; more are refused (closed at once). Default 64. */
  maxConnections?: number
  /** Bytes held per direction before its reader pauses. Default 4 MiB. */
  maxQueuedBytes?: number
  /** Closes itself after this long, if set. */
  maxMs?: number
}

export interface RelayStats {
  connections: number
  refused: number
  bytesUp: number
  bytesDown: number
  /** Largest number of bytes a direction held at once. */
  maxQueued: number
}

export interface Relay {
  /** The 127.0.0.1 port it listens on. */
  port: number
  stats: RelayStats
  /** Stops listening and cuts every connection. */
  close(): Promise<void>
}

const END = Symbol('end')
interface Item {
  due: number
  chunk: Buffer | typeof END
}

/** Moves one direction's bytes from `from` to `to`, each chunk `delayMs` after it arrived. */
function delayedPipe(from: net.Socket, to: net.Socket, delayMs: number, maxQueued: number, stats: RelayStats, count: (n: number) => void): void {
  const queue: Item[] = []
  let queued = 0
  let timer: NodeJS.Timeout | undefined
  let waitingDrain = false

  const flush = (): void => {
    timer = undefined
    while (queue.length > 0 && !waitingDrain) {
      const head = queue[0]
      const wait = head.due - Date.now()
      if (wait > 0) {
        timer = setTimeout(flush, wait)
        return
      }
      queue.shift()
      if (head.chunk === END) {
        to.end()
        return
      }
      queued -= head.chunk.length
      count(head.chunk.length)
      if (!to.write(head.chunk)) {
        waitingDrain = true
        to.once('drain', () => {
          waitingDrain = false
          flush()
        })
      }
      if (from.isPaused() && queued < maxQueued / 2) from.resume()
    }
  }
  const push = (item: Item): void => {
    queue.push(item)
    if (!timer && !waitingDrain) flush()
  }

  from.on('data', (chunk: Buffer) => {
    queued += chunk.length
    stats.maxQueued = Math.max(stats.maxQueued, queued)
    if (queued > maxQueued) from.pause()
    push({ due: Date.now() + delayMs, chunk })
  })
  // What is queued still goes out after `from` closed, as it would over a real link.
  from.on('end', () => push({ due: Date.now() + delayMs, chunk: END }))
}

export function startRelay(opts: RelayOptions): Promise<Relay> {
  const maxConnections = opts.maxConnections ?? 64
  const maxQueued = opts.maxQueuedBytes ?? 4 * 1024 * 1024
  const stats: RelayStats = { connections: 0, refused: 0, bytesUp: 0, bytesDown: 0, maxQueued: 0 }
  const open = new Set<net.Socket>()
  let live = 0

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    if (live >= maxConnections) {
      stats.refused++
      client.destroy()
      return
    }
    live++
    stats.connections++
    const upstream = net.connect({ host: opts.target.host, port: opts.target.port, allowHalfOpen: true })
    for (const s of [client, upstream]) {
      open.add(s)
      s.setNoDelay(true)
    }
    // Either side failing ends both; both closed ends the connection.
    let closed = 0
    const onClose = (s: net.Socket) => (): void => {
      open.delete(s)
      if (++closed === 2) live--
    }
    const fail = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', fail).on('close', onClose(client))
    upstream.on('error', fail).on('close', onClose(upstream))
    // A socket that has both sent and been sent its end is done.
    for (const s of [client, upstream]) s.on('finish', () => s.readableEnded && s.destroy()).on('end', () => s.writableFinished && s.destroy())
    delayedPipe(client, upstream, opts.delayMs, maxQueued, stats, (n) => (stats.bytesUp += n))
    delayedPipe(upstream, client, opts.delayMs, maxQueued, stats, (n) => (stats.bytesDown += n))
  })

  let lifetime: NodeJS.Timeout | undefined
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (lifetime) clearTimeout(lifetime)
      for (const s of open) s.destroy()
      server.close(() => resolve())
    })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      if (opts.maxMs) {
        lifetime = setTimeout(() => void close(), opts.maxMs)
        lifetime.unref()
      }
      resolve({ port, stats, close })
    })
  })
}

/** `--to host:port --delay-ms N [--port P] [--max-seconds S]`: prints the port, runs until killed or S. */
async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const to = arg('--to')
  const m = /^(.+):(\d+)$/.exec(to ?? '')
  if (!m) throw new Error('usage: relay.ts --to HOST:PORT --delay-ms N [--port P] [--max-seconds S]')
  const maxSeconds = Number(arg('--max-seconds') ?? 3600)
  const relay = await startRelay({
    target: { host: m[1], port: Number(m[2]) },
    delayMs: Number(arg('--delay-ms') ?? 0),
    port: Number(arg('--port') ?? 0),
    maxMs: maxSeconds * 1000
  })
  process.stdout.write(`${relay.port}\n`)
  const stop = (): void => void relay.close().then(() => process.exit(0))
  process.on('SIGTERM', stop).on('SIGINT', stop)
  // The listening server keeps the process alive until close(), at the latest after maxMs.
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`relay: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  })
}
