import * as core from '@actions/core'

/** Where a run's lines go: the step's log, or one host's share of it when several run at once. */
export interface Log {
  info(line: string): void
  warning(line: string): void
}

export const stepLog: Log = {
  info: (line) => core.info(line),
  warning: (line) => core.warning(line)
}

/** Every line of one host's run, marked with the host, so that runs side by side can be told apart. */
export function hostLog(host: string): Log {
  const mark = (line: string) => line.split('\n').map((part) => `[${host}] ${part}`).join('\n')
  return {
    info: (line) => core.info(mark(line)),
    warning: (line) => core.warning(mark(line))
  }
}
