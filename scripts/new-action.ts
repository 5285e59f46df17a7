// `npm run new-action -- <id>`: writes actions/<id>.json and actions/<id>.cases.json from a template, then
// regenerates the docs that list actions (scripts/action-docs.ts). The template is a working action (a space
// by id, Confluence v2 GET /wiki/api/v2/spaces/{id}) whose cases pass as written, so the suite stays green
// from the first minute; edit both files into the action you want (docs/actions.md walks through one).
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { regenerateActionDocs } from './action-docs'

/** The id rule of src/actions/action-definition.schema.json. */
const ID = /^[a-z][a-z0-9]*(\.[a-z][a-zA-Z0-9]*)+$/

export function actionTemplate (id: string): object {
  return {
    $schema: '../src/actions/action-definition.schema.json',
    id,
    version: '0.1.0',
    title: `Get a space (${id}, scaffolded: edit me)`,
    description: 'Reads one space by id. Scaffolded by `npm run new-action`: replace the request, the schemas and the mapping with your operation. Confluence: GET /wiki/api/v2/spaces/{id} (getSpaceById), https://developer.atlassian.com/cloud/confluence/rest/v2/api-group-space/#api-spaces-id-get',
    mode: 'sync',
    scopes: [['read:space:confluence']],
    annotations: { readOnly: true, idempotent: true, destructive: false },
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['spaceId'],
      properties: { spaceId: { type: 'string', pattern: '^[1-9][0-9]{0,18}$', description: 'Space id (digits).' } }
    },
    output: {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'string' },
        key: { type: 'string' },
        name: { type: 'string' },
        status: { type: 'string' },
        url: { type: 'string', format: 'uri', pattern: '^https?://' }
      },
      description: "Confluence's spec guarantees none of a space's fields, so each is present only when Confluence returned it."
    },
    request: { method: 'GET', path: '/wiki/api/v2/spaces/{{input.spaceId}}' },
    mapping: {
      value: {
        id: '{{response.body.id | string}}',
        key: '{{response.body.key}}',
        name: '{{response.body.name}}',
        status: '{{response.body.status}}',
        url: '{{response.body._links.webui | wikiUrl}}'
      }
    }
  }
}

export function casesTemplate (): object {
  return {
    $schema: '../test/helpers/action-cases.schema.json',
    cases: [
      {
        name: 'reads a space by id, with its overview URL',
        input: { spaceId: '9' },
        upstream: [{
          request: { method: 'GET', path: '/wiki/api/v2/spaces/9' },
          response: { body: { id: 9, key: 'ENG', name: 'Engineering', status: 'current', _links: { webui: '/spaces/ENG' } } }
        }],
        output: { id: '9', key: 'ENG', name: 'Engineering', status: 'current', url: 'https://acme.atlassian.net/wiki/spaces/ENG' },
        simulator: { input: { spaceId: '$spaceId' }, output: { id: '$spaceId' } }
      },
      {
        name: 'a space that does not exist is 404 UPSTREAM_NOT_FOUND',
        input: { spaceId: '999999999' },
        upstream: [{
          request: { method: 'GET', path: '/wiki/api/v2/spaces/999999999' },
          response: { status: 404, body: { errors: [{ status: 404, code: 'NOT_FOUND', title: 'Not Found' }] } }
        }],
        error: { code: 'UPSTREAM_NOT_FOUND' },
        simulator: {}
      },
      {
        name: 'bad input: listed, nothing called',
        input: { spaceId: 'ENG', extra: 1 },
        error: { code: 'INPUT_INVALID', paths: ['/spaceId', '/extra'] },
        simulator: {}
      }
    ]
  }
}

/** Writes the two files of a new action under `root` (a checkout) and regenerates the action docs there. */
export function scaffoldAction (id: string, root: string): { files: string[], regenerated: string[] } {
  if (!ID.test(id)) throw new Error(`"${id}" is not an action id (lower-case dotted words, e.g. confluence.space.get)`)
  const json = join('actions', `${id}.json`)
  const cases = join('actions', `${id}.cases.json`)
  for (const f of [json, cases]) if (existsSync(join(root, f))) throw new Error(`${f} exists already`)
  writeFileSync(join(root, json), `${JSON.stringify(actionTemplate(id), null, 2)}\n`)
  writeFileSync(join(root, cases), `${JSON.stringify(casesTemplate(), null, 2)}\n`)
  return { files: [json, cases], regenerated: regenerateActionDocs(root) }
}

if (require.main === module) {
  const id = process.argv[2]
  if (id === undefined) {
    process.stderr.write('usage: npm run new-action -- <id>   (e.g. confluence.space.get)\n')
    process.exit(64)
  }
  try {
    const { files, regenerated } = scaffoldAction(id, join(__dirname, '..'))
    process.stdout.write(`wrote ${files.join(' and ')}${regenerated.length > 0 ? `; regenerated ${regenerated.join(', ')}` : ''}\nnext: edit both files (docs/actions.md), then \`npm run docs:actions\` and \`npm test\`\n`)
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exit(1)
  }
}
