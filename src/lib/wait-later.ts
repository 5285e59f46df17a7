// A run that can do nothing but wait for something outside the spoke (a webhook receiver that is down)
// throws WaitLaterError: the processor moves the job to delayed until `untilMs` (BullMQ moveToDelayed) and
// hands its worker slot back, without spending an attempt. The run resumes from its checkpoint.
export class WaitLaterError extends Error {
  constructor (message: string, readonly untilMs: number) { super(message); this.name = 'WaitLaterError' }
}
