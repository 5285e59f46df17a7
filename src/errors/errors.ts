import { AppError, type AppErrorOptions } from './app-error'

// One class per public code (docs/errors.md). Codes and statuses are part of the API contract.
function define (code: string, statusCode: number, title: string, retryableByDefault = false) {
  const cls = class extends AppError {
    readonly code = code
    readonly statusCode = statusCode
    static readonly code = code
    static readonly title = title
    constructor (message: string = title, opts: AppErrorOptions = {}) {
      super(message, { retryable: retryableByDefault, ...opts })
    }
  }
  Object.defineProperty(cls, 'name', { value: code.toLowerCase().replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase()) + 'Error' })
  return cls
}

export const RequestInvalidError = define('REQUEST_INVALID', 400, 'Request invalid')
export const InputInvalidError = define('INPUT_INVALID', 400, 'Input invalid')
export const CallbackUrlForbiddenError = define('CALLBACK_URL_FORBIDDEN', 400, 'Callback URL not allowed')
export const UnauthenticatedError = define('UNAUTHENTICATED', 401, 'Authentication required')
export const ForbiddenError = define('FORBIDDEN', 403, 'Forbidden')
export const GroupNotManagedError = define('GROUP_NOT_MANAGED', 403, 'Group not managed')
export const SpaceNotManagedError = define('SPACE_NOT_MANAGED', 403, 'Space not managed')
export const NotFoundError = define('NOT_FOUND', 404, 'Not found')
export const ActionNotFoundError = define('ACTION_NOT_FOUND', 404, 'Action not found')
export const ConnectionNotFoundError = define('CONNECTION_NOT_FOUND', 404, 'Connection not found')
export const JobNotFoundError = define('JOB_NOT_FOUND', 404, 'Job not found')
export const ScheduleNotFoundError = define('SCHEDULE_NOT_FOUND', 404, 'Schedule not found')
export const ConnectionNotAuthorizedError = define('CONNECTION_NOT_AUTHORIZED', 409, 'Connection not authorized')
export const OrgAdminNotConfiguredError = define('ORG_ADMIN_NOT_CONFIGURED', 409, 'The alias has no organization admin key')
export const OrgAdminKeyRefusedError = define('ORG_ADMIN_KEY_REFUSED', 409, 'The Organizations API refused the org admin key')
export const IdempotencyConflictError = define('IDEMPOTENCY_CONFLICT', 409, 'Idempotency key reused with a different request')
export const VersionConflictError = define('VERSION_CONFLICT', 409, 'The content changed since the version you read')
export const TitleTakenError = define('TITLE_TAKEN', 409, 'A page with this title already exists in the space')
export const JobStateConflictError = define('JOB_STATE_CONFLICT', 409, 'Job is not in a state that allows this')
export const ConfirmationRequiredError = define('CONFIRMATION_REQUIRED', 409, 'A destructive MCP tool without a dry run of its own needs dryRun: false')
export const RequestTimeoutError = define('REQUEST_TIMEOUT', 408, 'Request timeout')
export const PayloadTooLargeError = define('PAYLOAD_TOO_LARGE', 413, 'Payload too large')
export const AttachmentTooLargeError = define('ATTACHMENT_TOO_LARGE', 413, 'Attachment too large')
export const AttachmentTooLargeForJsonError = define('ATTACHMENT_TOO_LARGE_FOR_JSON', 422, 'Attachment too large for a JSON answer')
export const UnsupportedMediaTypeError = define('UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported media type')
export const ExpectationFailedError = define('EXPECTATION_FAILED', 417, 'Expectation failed')
export const SignInThrottledError = define('SIGN_IN_THROTTLED', 429, 'Too many failed sign-ins', true)
export const ApiKeyThrottledError = define('API_KEY_THROTTLED', 429, 'Too many requests with a wrong API key', true)
export const RequestHeadersTooLargeError = define('REQUEST_HEADERS_TOO_LARGE', 431, 'Request headers too large')
export const UpstreamNotFoundError = define('UPSTREAM_NOT_FOUND', 404, 'Not found in Confluence')
export const UpstreamForbiddenError = define('UPSTREAM_FORBIDDEN', 403, 'Confluence refused the request')
export const UpstreamScopeMissingError = define('UPSTREAM_SCOPE_MISSING', 403, 'The token lacks a scope this operation needs')
export const UpstreamInvalidError = define('UPSTREAM_INVALID', 422, 'Confluence rejected the request')
export const UpstreamRateLimitedError = define('UPSTREAM_RATE_LIMITED', 429, 'Confluence rate limit reached', true)
export const UpstreamUnavailableError = define('UPSTREAM_UNAVAILABLE', 502, 'Confluence unavailable', true)
export const UpstreamTimeoutError = define('UPSTREAM_TIMEOUT', 504, 'Confluence did not answer in time', true)
export const QueueUnavailableError = define('QUEUE_UNAVAILABLE', 503, 'Queue unavailable', true)
export const TooManyJobsError = define('TOO_MANY_JOBS', 429, 'Too many unfinished jobs for this API key', true)
export const SinkUnavailableError = define('SINK_UNAVAILABLE', 502, 'The webhook receiver stayed unreachable')
export const InternalError = define('INTERNAL', 500, 'Internal error')
export const PrivacyReportUnsupportedError = define('PRIVACY_REPORT_UNSUPPORTED', 409, 'The alias cannot report personal data')
