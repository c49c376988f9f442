import { extract, pack } from 'tar-stream'
import type { Readable } from 'node:stream'

// Rewrites a `docker save` archive as it streams past, leaving out some entries and copying
// every other one unchanged. Memory stays at a few chunks: entries are piped, never collected.

export function filterTar(source: Readable, drop: (name: string) => boolean): Readable {
  const input = extract()
  const output = pack()
  input.on('entry', (header, body, next) => {
    if (drop(header.name)) {
      body.on('end', next)
      body.resume()
      return
    }
    body.pipe(output.entry(header, next))
  })
  input.on('finish', () => output.finalize())
  input.on('error', (error: Error) => output.destroy(error))
  source.on('error', (error: Error) => output.destroy(error))
  source.pipe(input)
  return output as unknown as Readable
}

/** Reads only manifest.json from an archive, draining the rest. */
export async function readManifest(source: Readable): Promise<string> {
  const input = extract()
  let manifest = ''
  source.pipe(input)
  for await (const entry of input) {
    if (entry.header.name === 'manifest.json') {
      for await (const chunk of entry) manifest += (chunk as Buffer).toString('utf8')
    } else {
      entry.resume()
    }
  }
  if (!manifest) throw new Error('the docker save archive has no manifest.json')
  return manifest
}
