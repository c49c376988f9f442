import v8 from 'node:v8'

/**
 * Keeps the young generation small while the image streams. Every stage allocates a Buffer
 * per chunk (docker save's pipe, the tar filter, the compressor, ssh2's packets), and each
 * dies within milliseconds. V8 13 (Node 24, where GitHub runs the action) lets the young
 * generation grow to 32 MiB, so a scavenge comes late and promotes the Buffers still in flight,
 * which then wait for a full collection. Measured streaming the 1 GiB bench image with zstd
 * on Node 24: peak RSS 150-159 MiB, and 98-101 MiB with a 2 MiB cap, at the same speed.
 * Older V8s (Node 20: peak 112 MiB) lack the flag and would print "unrecognized flag".
 */
export function keepYoungGenerationSmall(): void {
  if (Number(process.versions.v8.split('.')[0]) < 13) return
  v8.setFlagsFromString('--scavenger-max-new-space-capacity-mb=2')
}
