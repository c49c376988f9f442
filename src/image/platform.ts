// Whether the host's CPU can run the image at all: an image built on GitHub's x86 runners does
// not start on an ARM server (Graviton, Ampere, a Raspberry Pi) unless qemu is registered there.
// Caught in the read-only check, before the image travels.

export interface Platform {
  os: string
  arch: string
}

/** Docker's architecture names → the names of binfmt_misc's qemu handlers (qemu-<name>). */
const QEMU_NAMES: Record<string, string> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  arm: 'arm',
  '386': 'i386',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64'
}

/** Image architectures a host CPU runs besides its own: x86-64 runs 32-bit x86, most ARMv8 cores 32-bit ARM. */
const ALSO_RUNS: Record<string, string[]> = { amd64: ['386'], arm64: ['arm'] }

export type PlatformVerdict = { ok: true; warning?: string } | { ok: false; problem: string }

const known = (platform: Platform | undefined): platform is Platform =>
  [platform?.os, platform?.arch].every((part) => part !== undefined && part !== '' && part !== 'unknown')

/**
 * `emulated`: the qemu handler names the host has enabled. Unknown platforms pass (an engine may
 * not say, and attestation manifests say "unknown"): the start would show a real problem anyway.
 */
export function platformVerdict(ref: string, image: Platform | undefined, host: Platform | undefined, emulated: string[]): PlatformVerdict {
  if (!known(image) || !known(host)) return { ok: true }
  const built = `${image.os}/${image.arch}`
  const runs = `${host.os}/${host.arch}`
  const rebuild = `build it for ${runs} (docker buildx build --platform ${runs})`
  if (image.os !== host.os) return { ok: false, problem: `image: ${ref} is built for ${built}, but the host runs ${runs}; ${rebuild}` }
  if (image.arch === host.arch) return { ok: true }
  if (emulated.includes(QEMU_NAMES[image.arch] ?? image.arch)) {
    return { ok: true, warning: `${ref} is built for ${built}; the host (${runs}) runs it under qemu emulation, much slower than natively` }
  }
  if (ALSO_RUNS[host.arch]?.includes(image.arch)) {
    return image.arch === 'arm'
      ? { ok: true, warning: `${ref} is built for ${built}; the host (${runs}) runs it only if its CPU runs 32-bit ARM code` }
      : { ok: true }
  }
  return {
    ok: false,
    problem: `image: ${ref} is built for ${built}, but the host runs ${runs} and has no emulator for ${image.arch} registered; ${rebuild}`
  }
}
