import * as core from '@actions/core'
import type { Log } from './log.js'

export interface PhaseTime {
  name: string
  ms: number
}

/**
 * Runs each phase in its own log group and keeps how long it took, for the summary. Runs on
 * several hosts at once cannot share groups (one is open at a time): each phase of theirs is a
 * marked line in `log` instead.
 */
export class Phases {
  readonly times: PhaseTime[] = []
  /** The phase under way, or the last one started: where an error that ends the run arose. */
  current?: { name: string; title: string }

  constructor(private readonly log?: Log) {}

  async run<T>(name: string, title: string, body: () => Promise<T>): Promise<T> {
    this.current = { name, title }
    const started = Date.now()
    try {
      if (!this.log) return await core.group(title, body)
      this.log.info(`▸ ${title}`)
      return await body()
    } finally {
      this.times.push({ name, ms: Date.now() - started })
    }
  }
}

/** Logs an attempt when its answer differs from the last one, and every tenth: no wall of lines. */
export function logChanges(log: (line: string) => void): (line: string) => void {
  let last = ''
  let count = 0
  return (line) => {
    const answer = line.replace(/^attempt \d+: /, '')
    if (answer !== last || ++count % 10 === 0) log(line)
    last = answer
  }
}
