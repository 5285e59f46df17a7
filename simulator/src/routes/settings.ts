// v1 system information: the site's default time zone, in which CQL reads dates (crawls format their
// `lastmodified` window in it).
import type { OpHandler } from './context'

const getSystemInfo: OpHandler = (ctx) => ({
  status: 200,
  body: {
    cloudId: ctx.site.cloudId,
    commitHash: 'simulator',
    baseUrl: ctx.site.base,
    edition: 'standard',
    siteTitle: ctx.site.name,
    defaultLocale: 'en_GB',
    defaultTimeZone: ctx.site.timeZone
  },
  objects: { core: 1 }
})

export const settingsHandlers: Record<string, OpHandler> = { getSystemInfo }
