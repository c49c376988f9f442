// Watching and steering a running action from a test: wait for a line of its log, then act.
import type { ActionResult, StartedAction } from '../../sandbox/action.js'

/** Resolves once the action's log shows `text` (bounded), so a test can act at that moment. */
export function logShows(run: StartedAction, text: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => {
      run.child.kill('SIGKILL') // a stuck run must not hold the service's lock for the tests after it
      reject(new Error(`the action never logged ${JSON.stringify(text)}:\n${seen}`))
    }, timeoutMs)
    run.child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes(text)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
}

/** Sends `signal` once the log shows `text` (after `delayMs`), and waits for the run to end. */
export async function signalWhen(run: StartedAction, text: string, signal: NodeJS.Signals, delayMs = 0): Promise<ActionResult> {
  await logShows(run, text)
  await new Promise((resolve) => setTimeout(resolve, delayMs))
  run.child.kill(signal)
  return run.done
}

export function expectOk(run: ActionResult): void {
  if (run.code !== 0) throw new Error(`the action failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`)
}
