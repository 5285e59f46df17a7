// Per-key allowlists of MCP tools (SPOKE_MCP_TOOLS): an operator gives an agent's key only some tools, e.g.
// the read-only ones. A key is named by its fingerprint (the 8 hex digits of its SHA-256 that audit lines
// show; lib/api-keys keyFingerprint), since keys have no names and the plain key must not sit in more places.
//
//   SPOKE_MCP_TOOLS=3f9a1c2e:@read-only,7b2d0e41:confluence_page_*|confluence_space_list|jobs_get
//
// Patterns are tool names with `*` for any run of characters, or `@read-only` (every tool whose action is
// read-only, and jobs_get). A key with no entry gets every tool its role allows; an entry only narrows it.
import { ConfigError } from './config-error'

export interface ToolAllowlists { [fingerprint: string]: string[] }

export const READ_ONLY_PATTERN = '@read-only'
const FINGERPRINT = /^[0-9a-f]{8}$/
const PATTERN = /^(@read-only|[A-Za-z0-9_*-]{1,64})$/

export function parseToolAllowlists (raw: string | undefined): ToolAllowlists {
  const out: ToolAllowlists = {}
  if (raw === undefined) return out
  raw.split(',').map(s => s.trim()).filter(Boolean).forEach((entry, i) => {
    const sep = entry.indexOf(':')
    const fp = entry.slice(0, sep).toLowerCase()
    const patterns = entry.slice(sep + 1).split('|').map(p => p.trim()).filter(Boolean)
    if (sep < 0 || !FINGERPRINT.test(fp)) throw new ConfigError('SPOKE_MCP_TOOLS', `entry ${i + 1} must be <key fingerprint, 8 hex digits>:<pattern>|<pattern>...`)
    const bad = patterns.find(p => !PATTERN.test(p))
    if (patterns.length === 0 || bad !== undefined) throw new ConfigError('SPOKE_MCP_TOOLS', `entry ${i + 1} has ${bad === undefined ? 'no tool pattern' : `an invalid tool pattern "${bad}"`} (tool names, * as a wildcard, or ${READ_ONLY_PATTERN})`)
    if (out[fp] !== undefined) throw new ConfigError('SPOKE_MCP_TOOLS', `names the key ${fp} twice`)
    out[fp] = patterns
  })
  return out
}

/** Whether a tool is allowed by a key's patterns (no patterns: no allowlist for that key). */
export function allowedBy (patterns: string[] | undefined, tool: { name: string, readOnly: boolean }): boolean {
  if (patterns === undefined) return true
  return patterns.some(p => p === READ_ONLY_PATTERN ? tool.readOnly : globToRegExp(p).test(tool.name))
}

function globToRegExp (glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map(s => s.replace(/[-]/g, '\\-')).join('.*')}$`)
}
