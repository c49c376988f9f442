// What the runtime inputs say about the app's containers, parsed and checked (runtime/inputs.ts).
// docker-args.ts turns a RuntimeSpec into docker run arguments.
import type { RunOption } from './options.js'

export interface Volume {
  /** A named volume (created by Docker if missing, never removed by the action), or a host folder. */
  kind: 'volume' | 'bind'
  /** The volume's name, or the absolute host path. */
  source: string
  /** Absolute path in the container. */
  target: string
  readOnly: boolean
}

/** One line of `workers`: a process of the app that serves no HTTP, in `count` containers. */
export interface Worker {
  name: string
  /** Argument list, split as `command` is; never run through a shell. */
  command: string[]
  count: number
}

/** How the app's containers run, beyond the image and env. */
export interface RuntimeSpec {
  volumes: Volume[]
  /** Replaces the image's CMD; undefined keeps it. */
  command?: string[]
  /** Replaces the image's ENTRYPOINT; '' resets it; undefined keeps it. */
  entrypoint?: string
  /** name or uid, optionally :group or :gid. */
  user?: string
  /** In Docker's size form, at least 6m. */
  memory?: string
  /** A decimal number of CPUs, such as 0.5. */
  cpus?: string
  labels: Record<string, string>
  /** Seconds docker stop waits after the stop signal before it kills; undefined: Docker's 10. */
  stopTimeout?: number
  /** Allowed docker run flags (options.ts), in the order given. */
  options: RunOption[]
}
