// Pure parts of the jobs feature: callback URL rules and signatures, public job states
// (retry delays and rate-limit header parsing: http-units.test.ts).
import { createHmac } from 'node:crypto'
import { callbackUrlProblem, sign } from '../../src/jobs/callbacks'
import { errorFromReason, publicState } from '../../src/jobs/job-view'
import { JOB_ID_PATTERN, bullPrefix, newJobId } from '../../src/jobs/queues'

describe('callbacks', () => {
  it('signs the body with HMAC-SHA256', () => {
    expect(sign('{"a":1}', 's3cret')).toBe(`sha256=${createHmac('sha256', 's3cret').update('{"a":1}').digest('hex')}`)
  })
  it('refuses non-http(s) and credentials (where a URL points: test/unit/address-policy.test.ts)', () => {
    expect(callbackUrlProblem('https://hooks.example.com/x')).toBeUndefined()
    for (const bad of ['ftp://x.example/y', 'not a url', 'https://u:p@x.example/']) {
      expect([bad, callbackUrlProblem(bad)]).toEqual([bad, expect.any(String)])
    }
  })
})

describe('job views', () => {
  it('maps BullMQ states and cancel markers to public states', () => {
    expect(publicState('failed', { cancelRequested: false, error: { code: 'JOB_CANCELLED', message: '', retryable: false } })).toBe('cancelled')
    expect(publicState('failed', { cancelRequested: false })).toBe('failed')
    expect(publicState('waiting', { cancelRequested: true })).toBe('cancelled')
    expect(publicState('prioritized', { cancelRequested: false })).toBe('waiting')
    expect(publicState('delayed', { cancelRequested: false })).toBe('delayed')
    expect(publicState('unknown', { cancelRequested: false })).toBeUndefined()
  })
  it('reads CODE: message failure reasons', () => {
    expect(errorFromReason('UPSTREAM_NOT_FOUND: no page')).toEqual({ code: 'UPSTREAM_NOT_FOUND', message: 'no page', retryable: false })
    expect(errorFromReason('boom')).toEqual({ code: 'INTERNAL', message: 'boom', retryable: false })
  })
  it('makes ids that sort by creation time', () => {
    const a = newJobId(1_700_000_000_000)
    const b = newJobId(1_700_000_000_001)
    expect(a < b).toBe(true)
    expect(JOB_ID_PATTERN.test(a)).toBe(true)
    expect(bullPrefix('spoke')).toBe('{spoke}:bull')
    expect(bullPrefix('{tenant}:spoke')).toBe('{tenant}:spoke:bull')
  })
})
