// Tables of jobs and schedules, shared by the overview and the jobs pages.
import type { JobView } from '../../jobs/job-view'
import type { ScheduleView } from '../../schedules/schedule-service'
import { h, when, type Html } from './html'

export const CRAWL_ACTION = 'confluence.content.crawl'
export const jobPath = (id: string): string => `/admin/jobs/${encodeURIComponent(id)}`

const STATE_CLASS: Record<string, string> = { completed: 'ok', failed: 'bad', cancelled: 'warn' }

export function progressText (p: unknown): string {
  if (typeof p === 'number') return p > 0 ? `${p}%` : ''
  if (p !== null && typeof p === 'object') {
    const { done, total, message } = p as { done?: number, total?: number, message?: string }
    return [typeof done === 'number' ? `${done}${typeof total === 'number' ? ` of ${total}` : ''}` : '', message ?? ''].filter(Boolean).join(' · ')
  }
  return ''
}

export function jobTable (jobs: JobView[]): Html {
  if (jobs.length === 0) return h`<p class="muted">None yet.</p>`
  const rows = jobs.map(j => h`<tr><td><a href="${jobPath(j.id)}"><code>${j.id}</code></a></td><td>${j.action}</td>
<td>${j.connection.requested}${j.connection.resolved && j.connection.resolved !== j.connection.requested ? h` <span class="muted">→ ${j.connection.resolved}</span>` : ''}</td>
<td class="${STATE_CLASS[j.state] ?? ''}">${j.state}${j.error ? h`<br><span class="muted">${j.error.code}</span>` : ''}</td>
<td>${progressText(j.progress)}</td><td>${when(j.createdAt)}</td></tr>`)
  return h`<table><thead><tr><th>Job</th><th>Action</th><th>Connection</th><th>State</th><th>Progress</th><th>Created</th></tr></thead><tbody>${rows}</tbody></table>`
}

export function scheduleTable (schedules: ScheduleView[]): Html {
  if (schedules.length === 0) return h`<p class="muted">No schedules.</p>`
  const rows = schedules.map(s => h`<tr><td><code>${s.id}</code></td><td>${s.action}</td><td>${s.connection}</td>
<td>${s.cron ? h`cron <code>${s.cron}</code> (${s.timezone ?? 'UTC'})` : `every ${s.every} s`}</td><td>${when(s.nextRunAt)}</td>
<td>${s.runs} run · ${s.skipped} skipped</td>
<td>${s.lastRun?.jobId ? h`<a href="${jobPath(s.lastRun.jobId)}">${s.lastRun.jobId}</a> ` : ''}${s.lastRun ? when(s.lastRun.at) : ''}${s.lastRun?.skippedBecause ? h`<br><span class="muted">skipped: ${s.lastRun.skippedBecause}</span>` : ''}</td></tr>`)
  return h`<table><thead><tr><th>Schedule</th><th>Action</th><th>Connection</th><th>Timing</th><th>Next run</th><th>Counts</th><th>Last run</th></tr></thead><tbody>${rows}</tbody></table>`
}
