// Every error the spoke answers with is an AppError: a stable SCREAMING_SNAKE code (docs/errors.md),
// an HTTP status, whether a client may retry, and optional details (validation errors, Retry-After).
export interface AppErrorOptions {
  cause?: unknown
  retryable?: boolean
  /** Validation details, exposed as `errors` in the problem body. */
  errors?: unknown[]
  /** Seconds; sent as the Retry-After header. */
  retryAfter?: number
  /** Extra response headers. */
  headers?: Record<string, string>
}

export abstract class AppError extends Error {
  abstract readonly code: string
  abstract readonly statusCode: number
  readonly retryable: boolean
  readonly errors?: unknown[]
  readonly retryAfter?: number
  readonly headers?: Record<string, string>

  constructor (message: string, opts: AppErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.retryable = opts.retryable ?? false
    this.errors = opts.errors
    this.retryAfter = opts.retryAfter
    this.headers = opts.headers
  }
}
