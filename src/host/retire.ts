import type { Runner } from './guard.js'
import { proxyName } from './paths.js'
import { SCRIPTS } from './scripts.js'

export interface RetireSpec {
  /** The slot's containers: its replicas. */
  containers: string[]
  network: string
  appPort: number
  drainTimeoutSeconds: number
  /** The app's stop timeout (SIGTERM to SIGKILL), when set: docker stop waits that long. */
  stopTimeoutSeconds?: number
  /** Drained, but left running (keep-previous: running). */
  keep?: boolean
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
      proxyName(spec.network), spec.containers.join('\n'), spec.network, String(spec.appPort), String(spec.drainTimeoutSeconds),
      String((spec.stopTimeoutSeconds ?? 10) + 30), spec.keep ? 'keep' : ''
    ],
    {
      onLine: (line) => {
        const [kind, open] = line.split(' ')
        if (kind === 'WAIT') onWait(Number(open))
        if (kind === 'DRAINED') drained = { openConnections: Number(open) }
      }
    }
  )
  if (result.code !== 0) throw new Error(`Could not retire ${spec.containers.join(', ')}: ${result.stderr.trim()}`)
  return drained
}
