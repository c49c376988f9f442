import type { Runner } from './guard.js'
import { proxyName, serviceDir } from './paths.js'
import { SCRIPTS } from './scripts.js'
import { stateText, type ServiceState } from './state.js'

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
  /**
   * The release to record first, in the same remote step: after a switch the record and the
   * retire would each cost a round trip. `onRecorded` hears when it is written.
   */
  record?: { state: ServiceState; onRecorded: () => void }
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
  let recorded = false
  const { record } = spec
  const result = await run(
    SCRIPTS.retire,
    [
      proxyName(spec.network), spec.containers.join('\n'), spec.network, String(spec.appPort), String(spec.drainTimeoutSeconds),
      String((spec.stopTimeoutSeconds ?? 10) + 30), spec.keep ? 'keep' : '', ...(record ? [serviceDir(record.state.service)] : [])
    ],
    {
      stdin: record ? stateText(record.state) : undefined,
      onLine: (line) => {
        const [kind, open] = line.split(' ')
        if (kind === 'RECORDED') {
          recorded = true
          record?.onRecorded()
        }
        if (kind === 'WAIT') onWait(Number(open))
        if (kind === 'DRAINED') drained = { openConnections: Number(open) }
      }
    }
  )
  if (record && !recorded) throw new Error(`Could not save the state of ${record.state.service}: ${result.stderr.trim()}`)
  if (result.code !== 0) throw new Error(`Could not retire ${spec.containers.join(', ')}: ${result.stderr.trim()}`)
  return drained
}
