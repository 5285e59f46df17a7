// Which Confluence site an alias's token serves: the one the alias names (cloudId or URL), else the only one
// the token reaches. Bound once, kept with the tokens; an admin chooses when the grant reaches several.
import type { Logger } from 'pino'
import { needsSite, noSite, siteNotInGrant } from './errors'
import { sameSite, type TokenEndpoint } from './oauth-client'
import type { TokenState, TokenStore } from './token-store'
import type { BoundSite, EffectiveAlias, SiteChoice } from './types'

export function pickSite (choices: SiteChoice[], want: string | undefined): SiteChoice | undefined {
  if (want) return choices.find(c => sameSite(want, c))
  return choices.length === 1 ? choices[0] : undefined
}

/** Binds the site of an alias whose token has none yet (client credentials, or a changed site). */
export async function bindSite (
  deps: { store: TokenStore, endpoint: TokenEndpoint, log: Logger }, a: EffectiveAlias, tokens: TokenState, traceparent?: string
): Promise<BoundSite> {
  const token = tokens.set?.accessToken as string
  const want = a.site?.cloudId ?? a.site?.url
  if (!want && tokens.choices && tokens.choices.length > 1) throw needsSite(a.id, tokens.choices)
  const named = async (cloudId: string): Promise<BoundSite> => {
    const site: BoundSite = { cloudId, url: a.site?.url ? a.site.url.replace(/\/+$/, '') : '' }
    await deps.store.bindSite(a.id, site)
    return site
  }
  let choices: SiteChoice[]
  try {
    choices = await deps.endpoint.accessibleResources(a.connectionUrl, token, traceparent)
  } catch (err) {
    if (a.site?.cloudId) return named(a.site.cloudId)
    throw err
  }
  const pick = pickSite(choices, want)
  if (pick) {
    await deps.store.bindSite(a.id, pick)
    deps.log.info({ alias: a.id, cloudId: pick.cloudId }, 'site bound')
    return pick
  }
  if (a.site?.cloudId) return named(a.site.cloudId)
  if (want) throw siteNotInGrant(a.id, want, choices)
  if (choices.length === 0) throw noSite(a.id)
  await deps.store.storeChoices(a.id, choices)
  throw needsSite(a.id, choices)
}
