// Small HTTP helpers for the simulator's own tests (real HTTP through Node's fetch).
import type { Simulator } from '../src/index'

export interface Answer { status: number, headers: Headers, body: any, text: string }

export async function http (url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { redirect: 'manual', ...init })
  const text = await response.text()
  let body: unknown
  try { body = text ? JSON.parse(text) : undefined } catch { body = undefined }
  return { status: response.status, headers: response.headers, body, text }
}

/** A call through the gateway: `path` is the site path, e.g. /wiki/api/v2/pages/123. */
export async function confluence (sim: Simulator, token: string, method: string, path: string,
  options: { body?: unknown, cloudId?: string, headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers }
  if (options.body !== undefined) headers['content-type'] ??= 'application/json'
  return await http(`${sim.url}/ex/confluence/${options.cloudId ?? sim.defaultCloudId}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  })
}

export const q = (text: string): string => encodeURIComponent(text)
