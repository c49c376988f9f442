// Sizes in Docker's forms (go-units RAMInBytes, which --memory and --shm-size read): a number, a
// unit of b, k, m, g, t or p (any case, powers of 1024), then an optional i and b: 512m, 1.5g,
// 64MiB. Without a unit, bytes. The space go-units allows before the unit is refused: the value
// is one word.

const SIZE = /^(\d{1,15}(?:\.\d{1,6})?)([kmgtp])?(?:i?b)?$/i
const POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 }

/** Bytes, or undefined when `text` is not in Docker's size form. */
export function parseBytes(text: string): number | undefined {
  const match = SIZE.exec(text)
  if (!match) return undefined
  const unit = match[2]?.toLowerCase()
  return Math.floor(Number(match[1]) * 1024 ** (unit ? POWER[unit] : 0))
}

const MiB = 1024 * 1024
/** Docker refuses a memory limit under 6 MiB ("Minimum memory limit allowed is 6MB"). */
export const MIN_MEMORY = 6 * MiB
