// Helpers of the jobs tests: submit an action in async mode over HTTP and wait for its job to reach a state.
import type { TestSpoke } from './spoke'
import { http, type HttpAnswer } from './connect'

export async function submit (t: TestSpoke, actionId: string, body: Record<string, unknown>, opts: { key?: string, headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return await http(t, 'POST', `/v1/actions/${actionId}/execute`, { key: opts.key ?? t.keys.invoker, body: { mode: 'async', ...body }, headers: opts.headers })
}

/** Submits and expects 202; answers the job id. */
export async function submitJob (t: TestSpoke, actionId: string, body: Record<string, unknown>): Promise<string> {
  const res = await submit(t, actionId, body)
  if (res.status !== 202) throw new Error(`expected 202, got ${res.status} ${res.text}`)
  return res.json().jobId as string
}

export async function getJob (t: TestSpoke, id: string): Promise<any> {
  const res = await http(t, 'GET', `/v1/jobs/${id}`, { key: t.keys.viewer })
  if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${res.text}`)
  return res.json()
}

/**
 * Polls GET /v1/jobs/{id} until `until(job)` holds; fails with the last view after `timeoutMs`. A retryable
 * 503 (Redis slow to answer on a loaded machine, or just back after an outage) is polled again, as the
 * problem's `retryable` tells a client to; any other answer but 200 fails at once.
 */
export async function waitForJob (t: TestSpoke, id: string, until: (job: any) => boolean = j => ['completed', 'failed', 'cancelled'].includes(j.state), timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  let job: any
  for (;;) {
    const res = await http(t, 'GET', `/v1/jobs/${id}`, { key: t.keys.viewer })
    if (res.status === 503 && res.json()?.retryable === true) {
      if (Date.now() > deadline) throw new Error(`job ${id}: still 503 after ${timeoutMs} ms: ${res.text}`)
      await new Promise(resolve => setTimeout(resolve, 100))
      continue
    }
    if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${res.text}`)
    job = res.json()
    if (until(job)) return job
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(job).slice(0, 500)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}
