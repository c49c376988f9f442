// docker run arguments from a RuntimeSpec: the flags that go before the image, and the command
// words after it. Pure. Each flag is one word, --flag=value, so no value is ever read as a flag
// (an entrypoint of -x, a label value of --privileged) and none can be split from its flag.
// The host receives these words one per line, so a word with a line break (or NUL) would become
// two: every word is checked here, after validation has refused such values already.
import type { RunOption } from './options.js'
import type { RuntimeSpec, Volume } from './spec.js'

/** Flags for docker run, before the image: mounts, user, limits, labels, stop timeout, entrypoint, options. */
export function runFlags(spec: RuntimeSpec): string[] {
  const flags = [
    ...spec.volumes.map(mountFlag),
    ...flag('--user', spec.user),
    ...flag('--memory', spec.memory),
    ...flag('--cpus', spec.cpus),
    ...Object.entries(spec.labels).map(([key, value]) => `--label=${key}=${value}`),
    ...flag('--stop-timeout', spec.stopTimeout?.toString()),
    ...flag('--entrypoint', spec.entrypoint),
    ...spec.options.map(optionFlag)
  ]
  return lineSafe(flags)
}

/** The words after the image: the command given (for the app, a worker or the release), or none to keep the image's CMD. */
export function commandWords(command: string[] | undefined): string[] {
  return lineSafe(command ?? [])
}

/**
 * --mount, not -v, for both kinds: -v creates a missing host folder (empty, owned by root) and
 * the app starts on it as if it were its data; --mount type=bind refuses a missing one, so a typo
 * fails the candidate's start, before the switch. A named volume is created if missing either way.
 * Validation keeps commas and quotes out of paths, which --mount's list form would split on.
 */
export function mountFlag(volume: Volume): string {
  const type = volume.kind === 'bind' ? 'bind' : 'volume'
  return `--mount=type=${type},source=${volume.source},target=${volume.target}${volume.readOnly ? ',readonly' : ''}`
}

function optionFlag(option: RunOption): string {
  return option.value === undefined ? option.flag : `${option.flag}=${option.value}`
}

function flag(name: string, value: string | undefined): string[] {
  return value === undefined ? [] : [`${name}=${value}`]
}

/** Throws when a word would not survive the trip as one line. */
export function lineSafe(words: string[]): string[] {
  for (const word of words) {
    if (/[\n\r\0]/.test(word)) throw new Error(`A docker run argument holds a line break or NUL, which validation should have refused`)
  }
  return words
}
