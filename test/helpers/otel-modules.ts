// Child process of tracing.test.ts: builds the spoke (core, app and workers) with the environment it was
// given, then prints whether tracing is on and which OpenTelemetry SDK packages Node has loaded.
import { buildTestSpoke } from './spoke'

async function main (): Promise<void> {
  const otel: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('OTEL_') && v !== undefined) otel[k] = v
  const t = await buildTestSpoke({ ...otel, LOG_LEVEL: 'silent' }, { workers: true })
  const loaded = new Set<string>()
  for (const path of Object.keys(require.cache)) {
    const m = /node_modules\/(@opentelemetry\/[^/]+)\//.exec(path)
    if (m !== null) loaded.add(m[1])
  }
  process.stdout.write(`${JSON.stringify({ tracing: t.core.tracing.enabled, loaded: [...loaded].sort() })}\n`)
  await t.close()
}

main().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1) })
