import type { Host } from '../host/index.js'
import { hostTakesZstd } from '../host/images.js'
import { proxyProblems, type ProxySpec } from '../host/proxy.js'
import { resolveSituation } from '../host/state.js'
import type { Survey, SurveyRequest } from '../host/survey.js'
import { shortId, type ImageInfo } from '../image/info.js'
import type { Inputs } from '../inputs.js'
import { stepLog, type Log } from '../report/log.js'
import { onThisMachine } from '../transfer/link.js'
import { platformVerdict } from '../image/platform.js'
import { planImage, type ImagePlan, type RunnerDocker } from '../image/plan.js'
import { chooseCodec, type CodecChoice } from '../transfer/compression.js'
import { tlsProblems } from './tls.js'

export interface Checked {
  proxy: ProxySpec
  /** The runner's copy of the image, read once. */
  local?: ImageInfo
  /** What the host looked like before the lock, and the plan made from it: reused when no other deploy came between. */
  survey: Survey
  plan: ImagePlan
}

/** Read-only: everything that can be refused is refused here, before the host changes. */
export async function check(inputs: Inputs, host: Host, runner: RunnerDocker, log: Log = stepLog): Promise<Checked> {
  const proxy: ProxySpec = {
    network: inputs.network,
    port: inputs.proxyPort,
    image: inputs.proxyImage,
    service: inputs.service,
    serverNames: inputs.serverNames,
    ...(inputs.tls.mode === 'off' ? {} : { httpsPort: inputs.tls.httpsPort }),
    drainTimeoutSeconds: inputs.drainTimeout
  }
  const [local, found] = await Promise.all([
    inputs.rollback ? undefined : runner.inspect(inputs.image),
    host.survey({ ...surveyRequest(inputs, proxy), preflight: true })
  ])
  log.info(`Docker ${host.facts.dockerVersion} on ${host.target} as ${host.facts.user}`)
  const problems = [...proxyProblems(found.proxy, proxy), ...tlsProblems(inputs, host)]
  if (problems.length > 0) throw new Error(problems.join('\n'))
  if (found.proxy.image && found.proxy.status !== 'missing' && found.proxy.image !== proxy.image) {
    log.info(`proxy-image is ${proxy.image} and the running proxy uses ${found.proxy.image}: the proxy phase starts the new one beside it, with no gap`)
  }
  if (!inputs.rollback) codecFor(inputs, host)
  // The image must exist somewhere and its port must be known before the lock is taken.
  const plan = await planImage(inputs, host, { local, onHost: found.image }, resolveSituation(found.snapshot), found.snapshot.state)
  log.info(`Image ${plan.ref} (${shortId(plan.image.id)}), app port ${plan.appPort}, source: ${plan.source}`)
  // Only an image that travels is checked: one the host has already is the host's business.
  if (plan.source === 'sent') {
    const verdict = platformVerdict(plan.ref, plan.image.platform, host.facts.platform, host.facts.emulated ?? [])
    if (!verdict.ok) throw new Error(verdict.problem)
    if (verdict.warning) log.warning(verdict.warning)
  }
  return { proxy, local, survey: found, plan }
}

/** The codec of the image stream to this host; throws when an explicit choice cannot work there. */
export function codecFor(inputs: Inputs, host: Host): CodecChoice {
  const link = { zstd: hostTakesZstd(host.facts), onThisMachine: onThisMachine(host.facts.bootId) }
  return chooseCodec(inputs.compression, inputs.compressionLevel, link)
}

/**
 * What to read on the host: a rollback's image is only known from the host's own state. A deploy
 * that may send its image has the host's layers listed too, for the transfer.
 */
export function surveyRequest(inputs: Inputs, proxy: ProxySpec): SurveyRequest {
  return inputs.rollback ? { proxy } : { proxy, image: inputs.image, layers: true }
}
