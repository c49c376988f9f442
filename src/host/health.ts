/** How the candidate (CandidateSpec) is asked whether it is healthy. */
export interface HealthSpec {
  appPort: number
  path: string
  timeoutSeconds: number
}

export interface HealthResult {
  healthy: boolean
  attempts: number
  /** Why it failed, with the container's last log lines. */
  reason?: string
}

/** Collects what lib-health-loop.sh prints into a result. */
export class HealthLines {
  attempts = 0
  private reason?: string
  private readonly logs: string[] = []

  /** Returns the line when it reports an attempt. */
  take(line: string): string | undefined {
    const [kind, count] = line.split(' ')
    if (kind === 'ATTEMPT' || kind === 'HEALTHY' || kind === 'FAIL') this.attempts = Number(count)
    if (kind === 'FAIL') this.reason = line.split(' ').slice(2).join(' ')
    if (kind === 'LOG') this.logs.push(line.slice(4))
    return kind === 'ATTEMPT' ? line : undefined
  }

  result(code: number, stderr: string, container: string): HealthResult {
    if (code === 0) return { healthy: true, attempts: this.attempts }
    const tail = this.logs.length ? `\nLast log lines of ${container}:\n${this.logs.join('\n')}` : ''
    return { healthy: false, attempts: this.attempts, reason: `${this.reason ?? stderr.trim()}${tail}` }
  }
}

/**
 * `ATTEMPT 3 STATUS 502 SLOT none HEALTH starting` → `attempt 3: HTTP 502, HEALTHCHECK starting`;
 * with several replicas the line ends `REPLICA <name>`, shown as `web-blue-2: attempt 3: …`.
 */
export function describeAttempt(line: string): string {
  const match = /^ATTEMPT (\d+) STATUS (\d{3}) SLOT \S+ HEALTH (\S+)(?: REPLICA (\S+))?/.exec(line)
  if (!match) return line
  const [, attempt, status, health, replica] = match
  const answer = status === '000' ? 'no HTTP answer yet' : `HTTP ${status}`
  return `${replica ? `${replica}: ` : ''}attempt ${attempt}: ${answer}${health === 'none' ? '' : `, HEALTHCHECK ${health}`}`
}
