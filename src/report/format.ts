// Numbers as people read them in logs and summaries.

export function mib(bytes: number): string {
  if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1048576).toFixed(1)} MiB`
}

export function seconds(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

export function rate(bytes: number, ms: number): string {
  return ms > 0 ? `${(bytes / 1048576 / (ms / 1000)).toFixed(1)} MiB/s` : '-'
}
