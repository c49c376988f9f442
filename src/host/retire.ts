import type { Runner } from './guard.js'
import { proxyName } from './paths.js'
import { SCRIPTS } from './scripts.js'

export interface RetireSpec {
  container: string
  network: string
  appPort: number
  drainTimeoutSeconds: number
  /** The app's stop timeout (SIGTERM to SIGKILL), when set: docker stop waits that long. */
  stopTimeoutSeconds?: number
}

export interface RetireResult {
  /** Connections still open when the drain stopped waiting (0 when it drained). */
  openConnections: number
}


export async function retireContainer(
  run: Runner,
  spec: RetireSpec,
  onWait: (openConnections: number) => void
): Promise<RetireResult> {
  let drained: RetireResult = { openConnections: 0 }
  const result = await run(
    SCRIPTS.retire,
    [
      proxyName(spec.network), spec.container, spec.network, String(spec.appPort), String(spec.drainTimeoutSeconds),
      String((spec.stopTimeoutSeconds ?? 10) + 30)
    ],
    {
      onLine: (line) => {
        const [kind, open] = line.split(' ')
        if (kind === 'WAIT') onWait(Number(open))
        if (kind === 'DRAINED') drained = { openConnections: Number(open) }
      }
    }
  )
  if (result.code !== 0) throw new Error(`Could not retire ${spec.container}: ${result.stderr.trim()}`)
  return drained
}
