import { IN_PROXY } from './scripts.js'

/** An HTTP probe run inside the proxy container (scripts/in-proxy-probe.sh). */
export const PROBE_SCRIPT = IN_PROXY.probe

export interface ProbeResult {
  status: number
  slot?: string
}

/** Parses the probe's `STATUS nnn SLOT name` line; status 0 means no HTTP answer. */
export function parseProbe(line: string): ProbeResult | undefined {
  const match = /STATUS (\d{3}) SLOT (\S+)/.exec(line)
  if (!match) return undefined
  return { status: Number(match[1]), slot: match[2] === 'none' ? undefined : match[2] }
}

export function isHealthyStatus(status: number): boolean {
  return status >= 200 && status < 400
}
