import * as core from '@actions/core'

export interface PhaseTime {
  name: string
  ms: number
}

/** Runs each phase in its own log group and keeps how long it took, for the summary. */
export class Phases {
  readonly times: PhaseTime[] = []

  async run<T>(name: string, title: string, body: () => Promise<T>): Promise<T> {
    const started = Date.now()
    try {
      return await core.group(title, body)
    } finally {
      this.times.push({ name, ms: Date.now() - started })
    }
  }
}
