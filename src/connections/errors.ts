// The connection layer's failures, worded for the admin who must act on them (each names the route to use).
import type { AppError } from '../errors/app-error'
import { ConnectionNotAuthorizedError, ConnectionNotFoundError, RequestInvalidError } from '../errors/errors'
import type { SiteChoice } from './types'
import type { ValidationIssue } from './validate'

export function invalidAlias (message: string, issues: ValidationIssue[]): AppError {
  return new RequestInvalidError(`${message}: ${issues.map(i => `${i.path} ${i.message}`).join('; ')}`, {
    errors: issues.map(i => ({ in: 'body', path: i.path, message: i.message, ...(i.params !== undefined ? { params: i.params } : {}) }))
  })
}

export function aliasNotFound (id: string): AppError {
  return new ConnectionNotFoundError(`No connection alias "${id}" (GET /v1/connections lists them)`)
}

export function notConfigured (id: string, problems: string[]): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" is not configured: ${problems.join('; ')}. An admin must complete it (PUT /v1/connections/${id}, or the environment variables of its file).`)
}

export function needsConsent (id: string): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" has no authorized token. An admin must run "Get OAuth Token": open GET /v1/connections/${id}/authorize and approve the consent.`)
}

export function refreshFailed (id: string, error: string | undefined): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" lost its authorization: Atlassian refused its refresh token (${error ?? 'invalid_grant'}; revoked, unused for 90 days, or the user's password changed). An admin must run the consent again: GET /v1/connections/${id}/authorize.`)
}

export function clientRejected (id: string, error: string): AppError {
  return new ConnectionNotAuthorizedError(`The token endpoint refused the client of alias "${id}" (${error}). An admin must check credential.clientId and credential.clientSecret: PUT /v1/connections/${id}.`)
}

export function needsSite (id: string, choices: SiteChoice[]): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" reaches several Confluence sites (${describeChoices(choices)}). An admin must choose one: PUT /v1/connections/${id} with site.cloudId, or GET /v1/connections/${id}/authorize?site=<url>.`)
}

export function siteNotInGrant (id: string, want: string, choices: SiteChoice[]): AppError {
  return new ConnectionNotAuthorizedError(`Alias "${id}" names the site ${want}, but its token reaches ${describeChoices(choices)}. An admin must fix site in PUT /v1/connections/${id}.`)
}

export function noSite (id: string): AppError {
  return new ConnectionNotAuthorizedError(`The token of alias "${id}" reaches no Confluence site. An admin must grant it access to a site.`)
}

export function hasChildren (id: string, children: string[]): AppError {
  return new RequestInvalidError(`Alias "${id}" is the parent of ${children.join(', ')}: delete or re-parent its children first`)
}

export function usesClientCredentials (id: string): AppError {
  return new RequestInvalidError(`Alias "${id}" uses client credentials; it needs no consent (use POST /v1/connections/${id}/token)`)
}

export function describeChoices (choices: SiteChoice[]): string {
  return choices.length === 0 ? 'no Confluence site' : choices.map(c => `${c.url} (cloudId ${c.cloudId})`).join(', ')
}
