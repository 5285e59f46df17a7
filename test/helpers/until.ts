// A bounded wait on a condition: polls `probe` every 50 ms until it gives something other than undefined or
// false, and fails naming `what` once `ms` have passed. Tests synchronise on what they wait for, never on time.
export async function until<T> (what: string, probe: () => T | Promise<T>, ms = 15_000): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v as Exclude<T, undefined | false>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
