// Alias CRUD for the admin API and the alias files: validate, seal the secrets, keep tokens only while the
// credential stays the same, keep one active child per parent, and tell the caches.
import type { Logger } from 'pino'
import type { AliasStore } from './alias-store'
import { aliasView, type AliasView } from './alias-view'
import { credentialIdentity, effectiveAlias, sameClient, type AliasDefaults } from './effective-alias'
import { aliasNotFound, hasChildren, invalidAlias } from './errors'
import type { LoadedAlias } from './loader'
import type { TokenState, TokenStore } from './token-store'
import type { AliasDocument, AliasRecord, ManagedSpace, PublicAliasDocument, Unresolved } from './types'
import { validateAlias, type ValidationIssue } from './validate'

export interface AliasServiceDeps {
  aliases: AliasStore
  tokens: TokenStore
  /** Drop what the session cache holds of an alias. */
  invalidate: (id: string) => void
  defaults: AliasDefaults & { allowedHosts: readonly string[] }
  log: Logger
}

export class AliasService {
  constructor (private readonly deps: AliasServiceDeps) {}

  async list (): Promise<AliasView[]> {
    const records = await this.deps.aliases.listRecords()
    return Promise.all(records.map(r => this.view(r, records)))
  }

  async get (id: string): Promise<AliasView> {
    const records = await this.deps.aliases.listRecords()
    const rec = records.find(r => r.id === id)
    if (!rec) throw aliasNotFound(id)
    return this.view(rec, records)
  }

  /** Create or replace from the admin API. Throws REQUEST_INVALID with every issue. */
  async put (id: string, doc: unknown): Promise<{ view: AliasView, created: boolean }> {
    const issues = validateAlias(id, doc, this.deps.defaults.allowedHosts)
    if (issues.length > 0) throw invalidAlias(`The alias document for "${id}" is invalid`, issues)
    const existing = await this.deps.aliases.getRecord(id)
    const rec = await this.buildRecord(id, doc as AliasDocument, existing, 'api', [], issues)
    if (issues.length > 0) throw invalidAlias(`The alias document for "${id}" is invalid`, issues)
    await this.save(rec, existing)
    return { view: await this.get(id), created: existing === undefined }
  }

  async delete (id: string): Promise<void> {
    const records = await this.deps.aliases.listRecords()
    const rec = records.find(r => r.id === id)
    if (!rec) throw aliasNotFound(id)
    const children = records.filter(r => r.doc.parent === id).map(r => r.id)
    if (children.length > 0) throw hasChildren(id, children)
    if (rec.doc.parent) await this.deps.aliases.clearActiveChild(rec.doc.parent, id)
    await this.deps.aliases.deleteAlias(id)
    this.deps.invalidate(id)
    this.deps.log.info({ alias: id }, 'alias deleted')
  }

  /** Replace the managed groups (keeps everything else, secrets included). */
  async setManagedGroups (id: string, groups: Array<{ groupId: string, name?: string }>): Promise<void> {
    const rec = await this.deps.aliases.getRecord(id)
    if (!rec) throw aliasNotFound(id)
    rec.doc = { ...rec.doc, managedGroups: groups }
    rec.source = 'api'
    rec.updatedAt = new Date().toISOString()
    await this.deps.aliases.putRecord(rec)
    this.deps.invalidate(id)
  }

  /** Replace the managed spaces (keeps everything else, secrets included). */
  async setManagedSpaces (id: string, spaces: ManagedSpace[]): Promise<void> {
    const rec = await this.deps.aliases.getRecord(id)
    if (!rec) throw aliasNotFound(id)
    rec.doc = { ...rec.doc, managedSpaces: spaces }
    rec.source = 'api'
    rec.updatedAt = new Date().toISOString()
    await this.deps.aliases.putRecord(rec)
    this.deps.invalidate(id)
  }

  /** Write the alias files to Redis (an alias edited through the API keeps its edit). */
  async applyFiles (files: LoadedAlias[]): Promise<void> {
    for (const f of files) await this.applyFile(f)
    if (files.length > 0) this.deps.log.info({ aliases: files.map(f => f.id) }, 'connection files loaded')
  }

  private async applyFile (f: LoadedAlias): Promise<void> {
    const log = this.deps.log
    const existing = await this.deps.aliases.getRecord(f.id)
    if (existing && existing.source === 'api') {
      log.info({ alias: f.id, file: f.file }, 'alias was edited through the admin API; its file is not applied (delete the alias to return to the file)')
      return
    }
    const issues: ValidationIssue[] = []
    const rec = await this.buildRecord(f.id, f.doc, existing, 'file', f.unresolved, issues)
    if (issues.length > 0) {
      log.error({ alias: f.id, file: f.file, issues: issues.map(i => `${i.path} ${i.message}`) }, 'connection file not applied')
      return
    }
    rec.file = f.file
    await this.save(rec, existing)
    for (const u of f.unresolved) log[u.optional === true ? 'info' : 'warn']({ alias: f.id, field: u.field, variable: u.variable }, u.optional === true ? 'optional connection file placeholder has no value: the field is left out' : 'connection file placeholder has no value: the alias needs configuration')
  }

  private async view (rec: AliasRecord, records: AliasRecord[]): Promise<AliasView> {
    const { aliases, tokens } = this.deps
    const parent = rec.doc.parent ? records.find(r => r.id === rec.doc.parent) : undefined
    const alias = effectiveAlias(rec, parent, (owner, name, sealed) => aliases.open(owner, name, sealed), this.deps.defaults)
    const state = await tokens.readTokens(rec.id).catch((): TokenState => ({ meta: {} }))
    const activeChild = await aliases.activeChild(rec.id)
    const parentsActiveChild = rec.doc.parent && parent ? await aliases.activeChild(rec.doc.parent) : undefined
    return aliasView({ rec, records, alias, tokens: state, activeChild, parentsActiveChild })
  }

  /** Build the stored record: secrets sealed (kept from the existing record when not re-sent). */
  private async buildRecord (id: string, doc: AliasDocument, existing: AliasRecord | undefined, source: 'file' | 'api', unresolved: Unresolved[], issues: ValidationIssue[]): Promise<AliasRecord> {
    const aliases = this.deps.aliases
    if (doc.parent !== undefined) {
      const parent = await aliases.getRecord(doc.parent)
      if (source === 'api' && !parent) issues.push({ path: '/parent', message: `parent alias "${doc.parent}" does not exist` })
      if (parent?.doc.parent !== undefined) issues.push({ path: '/parent', message: `"${doc.parent}" is itself a child alias (one level of children only)` })
      const hasOwnChildren = (await aliases.listRecords()).some(r => r.doc.parent === id)
      if (hasOwnChildren) issues.push({ path: '/parent', message: `"${id}" has children of its own and cannot become a child` })
    }
    const { $schema: _schema, id: _id, credential, orgAdmin, ...rest } = doc
    const pub: PublicAliasDocument = { ...rest }
    const sealed: AliasRecord['sealed'] = {}
    if (credential) {
      const { clientSecret, ...c } = credential
      pub.credential = c
      if (clientSecret !== undefined) sealed.clientSecret = aliases.seal(id, 'clientSecret', clientSecret)
      else if (source === 'api' && existing?.sealed.clientSecret && sameClient(existing.doc.credential, c)) sealed.clientSecret = existing.sealed.clientSecret
    }
    if (orgAdmin) {
      const { apiKey, ...o } = orgAdmin
      pub.orgAdmin = o
      if (apiKey !== undefined) sealed.orgApiKey = aliases.seal(id, 'orgApiKey', apiKey)
      else if (source === 'api' && existing?.sealed.orgApiKey && existing.doc.orgAdmin?.orgId === o.orgId) sealed.orgApiKey = existing.sealed.orgApiKey
    }
    const now = new Date().toISOString()
    return { v: 1, id, doc: pub, sealed, source, unresolved, createdAt: existing?.createdAt ?? now, updatedAt: now }
  }

  private async save (rec: AliasRecord, existing: AliasRecord | undefined): Promise<void> {
    const { aliases, tokens, defaults } = this.deps
    const dropTokens = existing !== undefined && credentialIdentity(existing.doc, defaults) !== credentialIdentity(rec.doc, defaults)
    await aliases.putRecord(rec, { dropTokens })
    if (existing && !dropTokens && existing.sealed.clientSecret !== rec.sealed.clientSecret) {
      // A new client secret deserves a new try: clear a refusal recorded under the old one.
      const t = await tokens.readTokens(rec.id).catch((): TokenState => ({ meta: {} }))
      if (t.meta.status === 'refresh_failed' || t.meta.consentError) await tokens.writeMeta(rec.id, { ...t.meta, status: undefined, error: undefined, consentError: undefined })
    }
    if (existing && !dropTokens && (existing.doc.site?.cloudId !== rec.doc.site?.cloudId || existing.doc.site?.url !== rec.doc.site?.url)) {
      await tokens.clearSite(rec.id)
    }
    const parent = rec.doc.parent
    if (existing?.doc.parent && existing.doc.parent !== parent) await aliases.clearActiveChild(existing.doc.parent, rec.id)
    if (parent) {
      const current = await aliases.activeChild(parent)
      if (rec.doc.active === true && current !== rec.id) {
        await aliases.setActiveChild(parent, rec.id)
        if (current) await this.deactivate(current)
      } else if (rec.doc.active !== true && current === rec.id) {
        await aliases.clearActiveChild(parent, rec.id)
      }
      this.deps.invalidate(parent)
      await aliases.announce(parent)
    }
    this.deps.invalidate(rec.id)
    this.deps.log.info({ alias: rec.id, source: rec.source, tokensDropped: dropTokens }, 'alias saved')
  }

  private async deactivate (id: string): Promise<void> {
    const rec = await this.deps.aliases.getRecord(id)
    if (!rec || rec.doc.active !== true) return
    const { active: _a, ...doc } = rec.doc
    rec.doc = doc
    await this.deps.aliases.putRecord(rec)
  }
}
