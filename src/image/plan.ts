import type { Host } from '../host/index.js'
import type { Release, ServiceState, Situation } from '../host/state.js'
import { rollbackTarget } from '../rollout/releases.js'
import { exposedAppPort, sameImage, shortId, type ImageInfo } from './info.js'
import type { Inputs } from '../inputs.js'
import type { ImageSource } from '../report/report.js'
import type { SaveStream } from './runner.js'
import type { RunnerStore } from './store.js'

/** The runner's Docker engine, as the deploy uses it. */
export interface RunnerDocker {
  inspect(ref: string): Promise<ImageInfo | undefined>
  /** `docker history` content sizes, oldest first. */
  layerSizes(ref: string): Promise<number[] | undefined>
  save(ref: string): SaveStream
  /** The engine's own store, when this runner can read it (store.ts); else why not. */
  store?(image: ImageInfo): Promise<RunnerStore | { unusable: string }>
}

export interface ImagePlan {
  /** A rollback's release, as recorded. */
  target?: Release
  /** The reference recorded for this release. */
  ref: string
  image: ImageInfo
  source: ImageSource
  appPort: number
}

/** What is known of the image on both engines. */
export interface ImageFacts {
  /** The runner's copy of inputs.image, if it has one. */
  local?: ImageInfo
  /** The host's image under inputs.image, if it has one. */
  onHost?: ImageInfo
}

/**
 * Decides which image goes live and how it reaches the host: sent from the runner, already
 * there, or (a re-run with an older tag on a fresh runner) the host's own copy.
 */
export async function planImage(
  inputs: Inputs,
  host: Host,
  facts: ImageFacts,
  situation: Situation,
  state?: Pick<ServiceState, 'live' | 'previous' | 'history'>
): Promise<ImagePlan> {
  if (inputs.rollback) return planRollback(inputs, host, situation, state)
  const { local, onHost } = facts
  if (local && onHost && sameImage(local, onHost)) {
    return { ref: inputs.image, image: onHost, source: 'already-on-host', appPort: appPortFor(inputs, onHost) }
  }
  if (local) return { ref: inputs.image, image: local, source: 'sent', appPort: appPortFor(inputs, local) }
  if (!onHost) {
    throw new Error(
      `image: ${inputs.image} is neither on the runner's Docker engine nor on the host; build or pull it in an earlier step`
    )
  }
  return { ref: inputs.image, image: onHost, source: 'host-copy', appPort: appPortFor(inputs, onHost) }
}

/** rollback: true (1) or N: the release N back from the live one, whose image the host kept. */
async function planRollback(inputs: Inputs, host: Host, situation: Situation, state?: Pick<ServiceState, 'live' | 'previous' | 'history'>): Promise<ImagePlan> {
  const steps = inputs.rollbackSteps
  const target = rollbackTarget({ live: situation.live, previous: situation.previous, history: state?.history ?? [] }, situation.previous, steps)
  if (!target) {
    const what = steps > 1 ? `no release of ${inputs.service} ${steps} releases back` : `no previous release of ${inputs.service}`
    throw new Error(`rollback: the host records ${what} to roll back to`)
  }
  const image = await host.inspectImage(target.imageId)
  if (!image) {
    throw new Error(`rollback: the image ${target.image} (${target.imageId}) of that release is no longer on the host`)
  }
  return { ref: target.image, image, source: 'rollback', appPort: inputs.appPort ?? target.appPort, target }
}

function appPortFor(inputs: Inputs, image: ImageInfo): number {
  return inputs.appPort ?? exposedAppPort(image, inputs.image)
}

/** What the log says when nothing is sent. */
export function sourceMessage(plan: ImagePlan): string {
  switch (plan.source) {
    case 'already-on-host':
      return `The host already has ${plan.ref} (${shortId(plan.image.id)}); nothing to send`
    case 'host-copy':
      return `The runner's Docker engine has no ${plan.ref}; deploying the host's copy (${shortId(plan.image.id)}) without a transfer`
    default:
      return `Rolling back to ${plan.ref} (${shortId(plan.image.id)}), already on the host`
  }
}
