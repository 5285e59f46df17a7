// v1 endpoints Atlassian removed (CHANGE-864 content/space reads; group operations addressed by name).
// Live Confluence answers them with 410 GoneException.

const REMOVED: Array<[method: string, pattern: RegExp]> = [
  ['GET', /^\/wiki\/rest\/api\/content\/?$/],
  ['GET', /^\/wiki\/rest\/api\/content\/[^/]+\/?$/],
  ['GET', /^\/wiki\/rest\/api\/content\/[^/]+\/child(\/(page|blogpost|attachment|comment))?\/?$/],
  ['GET', /^\/wiki\/rest\/api\/space\/?$/],
  ['GET', /^\/wiki\/rest\/api\/space\/[^/]+\/?$/],
  ['GET', /^\/wiki\/rest\/api\/space\/[^/]+\/content(\/[^/]+)?\/?$/],
  ['GET', /^\/wiki\/rest\/api\/group\/(?!by-id$|picker$)[^/]+\/?$/],
  ['GET', /^\/wiki\/rest\/api\/group\/[^/]+\/member\/?$/],
  ['GET', /^\/wiki\/rest\/api\/group\/member\/?$/],
  ['POST', /^\/wiki\/rest\/api\/group\/user\/?$/],
  ['DELETE', /^\/wiki\/rest\/api\/group\/user\/?$/],
  ['DELETE', /^\/wiki\/rest\/api\/group\/?$/],
  ['GET', /^\/wiki\/rest\/api\/content\/[^/]+\/restriction\/byOperation\/[^/]+\/group\/[^/]+\/?$/],
  ['PUT', /^\/wiki\/rest\/api\/content\/[^/]+\/restriction\/byOperation\/[^/]+\/group\/[^/]+\/?$/],
  ['DELETE', /^\/wiki\/rest\/api\/content\/[^/]+\/restriction\/byOperation\/[^/]+\/group\/[^/]+\/?$/]
]

export function isRemovedEndpoint (method: string, sitePath: string): boolean {
  return REMOVED.some(([m, pattern]) => m === method && pattern.test(sitePath))
}
