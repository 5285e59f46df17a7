// A key an operator was meant to replace: the placeholder of `.env.example` and its like. Read when the
// configuration loads (the plain keys are dropped once hashed), refused by the production preflight.
const PLACEHOLDER_KEY = /change[-_]?me|replace[-_]?me|placeholder/i

/** The roles whose configured API key is a placeholder. */
export function placeholderKeyRoles (keys: ReadonlyArray<{ role: string, key: string }> = []): string[] {
  return [...new Set(keys.filter(k => PLACEHOLDER_KEY.test(k.key)).map(k => k.role))]
}
