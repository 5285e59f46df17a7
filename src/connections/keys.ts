// Redis keys of the connection layer; only alias-store.ts and token-store.ts use them. Every key starts
// with `{keyPrefix}:conn:`.
//   ids            SET of alias ids
//   alias:{id}     STRING  JSON AliasRecord (secrets sealed inside)
//   active:{id}    STRING  the active child of parent {id}
//   tok:{id}       HASH    set (sealed TokenSet) · meta (TokenMeta, clear) · site (BoundSite) · choices (SiteChoice[])
//   lock:{id}      STRING  refresh lock (SET NX PX, released by compare-and-delete)
//   state:{state}  STRING  JSON OAuthState, 10-minute life, taken once with GETDEL
//   changed        pub/sub channel: an alias id whose record or tokens changed (cache invalidation)
export interface ConnectionKeys {
  ids: string
  channel: string
  alias: (id: string) => string
  active: (parent: string) => string
  tokens: (id: string) => string
  lock: (id: string) => string
  state: (state: string) => string
}

export function connectionKeys (keyPrefix: string): ConnectionKeys {
  const base = `${keyPrefix}:conn:`
  return {
    ids: `${base}ids`,
    channel: `${base}changed`,
    alias: (id) => `${base}alias:${id}`,
    active: (parent) => `${base}active:${parent}`,
    tokens: (id) => `${base}tok:${id}`,
    lock: (id) => `${base}lock:${id}`,
    state: (state) => `${base}state:${state}`
  }
}

/** Tell every process that an alias's record or tokens changed (caches also expire on their own). */
export async function publishChange (redis: { publish: (channel: string, message: string) => Promise<unknown> }, keys: ConnectionKeys, id: string): Promise<void> {
  try { await redis.publish(keys.channel, id) } catch { /* caches also expire on their own */ }
}
