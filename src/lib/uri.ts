// URL encoding of values that come from a caller's input. encodeURIComponent throws URIError on a lone UTF-16
// surrogate ("a\ud800b" is valid JSON but not valid Unicode): that is the caller's mistake, a 400, not a 500.
import { InputInvalidError } from '../errors/errors'

export function encodeInputComponent (value: string): string {
  try {
    return encodeURIComponent(value)
  } catch {
    const message = 'contains a lone UTF-16 surrogate (not valid Unicode), so it cannot be sent in a URL'
    throw new InputInvalidError(`A value of the input ${message}: send well-formed text`, { errors: [{ in: 'input', message }] })
  }
}
