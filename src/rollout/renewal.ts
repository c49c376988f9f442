import { renewName } from '../host/paths.js'
import { buildRenewImage, loadArchive, RENEW_LABEL, renewImageTag, runtimeFiles, type RenewImage } from '../tls/renew-image.js'
import { readRenewScript } from '../tls/renew-script.js'
import { sendImage } from '../transfer/transfer.js'
import type { TlsDeps } from './tls.js'

// The renewal container of the proxy (src/renew.ts) runs an image made on the runner from its own
// Node: the deploy learns from the image's tag (a key of what it is made of) whether the host has
// it, sends it with the image transfer of every deploy when it does not (only the layers the host
// lacks travel: a new action version sends its script, a new Node its runtime), then starts or
// replaces the container.

/** The renewal container waits up to this long, at random, before each daily pass. */
export const RENEW_JITTER_SECONDS = 3600

export async function ensureRenewal(deps: TlsDeps, owner: string): Promise<string> {
  return startRenewal(deps, owner).catch((error: Error) => {
    throw new Error(`The renewal container of ${renewName(deps.inputs.network)} could not be set up: ${error.message}. The certificate is installed and serves; without the container, only deploys renew it`)
  })
}

async function startRenewal(deps: TlsDeps, owner: string): Promise<string> {
  const { host, inputs, log } = deps
  const script = await readRenewScript()
  const files = await runtimeFiles()
  const tag = renewImageTag(script, files)
  if (!(await host.inspectImage(tag))) {
    log(`Sending the renewal container's image ${tag} (the runner's Node ${process.version} and the renewal script)`)
    const image = await buildRenewImage(script, files)
    const sent = await sendImage(host, tag, image.info, deps.codec(), {
      save: () => archiveSave(image),
      log,
      spoolDir: deps.spoolDir,
      signal: deps.signal
    })
    log(`Renewal image: ${sent.skippedLayers} of ${sent.totalLayers} layers were on the host; ${sent.sentBytes} bytes sent`)
  }
  return host.tls.ensureRenewal(inputs.network, tag, owner, RENEW_JITTER_SECONDS, RENEW_LABEL).then((said) => `${said} (${renewName(inputs.network)}, ${tag})`)
}

/** The image's docker-load archive as a save stream, built on the fly. */
function archiveSave(image: RenewImage) {
  const stdout = loadArchive(image)
  return { stdout, done: Promise.resolve(), stop: () => void stdout.destroy() }
}
