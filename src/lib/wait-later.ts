// A run that can do nothing but wait for something outside the spoke (a webhook receiver that is down)
// throws WaitLaterError: the processor moves the job to delayed until `untilMs` (BullMQ moveToDelayed) and
// hands its worker slot back, without spending an attempt. The run resumes from its checkpoint.
// `code` is what the job view shows as its error while it waits (retryable).
export class WaitLaterError extends Error {
  constructor (message: string, readonly untilMs: number, readonly code: string) { super(message); this.name = 'WaitLaterError' }
}
