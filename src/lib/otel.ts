// The OpenTelemetry side of lib/tracing.ts, required only when tracing is on (so with tracing off none of
// these packages is ever loaded). A tracer provider of its own (never registered globally: tests build many
// cores in one process), spans batched to the OTLP/HTTP exporter. What the OTEL_* variables configure is
// read by the SDK itself, as everywhere: the sampler (OTEL_TRACES_SAMPLER, _ARG), the exporter
// (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION), the batch (OTEL_BSP_*) and the
// resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES over the spoke's own service name).
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Span } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import { errorType, type SpanAttributes, type SpanKindName, type TraceSpan, type Tracing, type TracingSettings } from './tracing'

const KINDS: Record<SpanKindName, SpanKind> = { server: SpanKind.SERVER, internal: SpanKind.INTERNAL, consumer: SpanKind.CONSUMER, client: SpanKind.CLIENT }
const propagator = new W3CTraceContextPropagator()

export function createOtelTracing (settings: TracingSettings): Tracing {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'confluence-cloud-spoke' }))
    .merge(detectResources({ detectors: [envDetector] }))
  const exporter: SpanExporter = settings.protocol === 'http/json'
    ? new (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
    : new (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter()
  const provider = new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] })
  const tracer = provider.getTracer('confluence-cloud-spoke')
  let closed: Promise<void> | undefined
  return {
    enabled: true,
    start (name, kind, parent, attrs) {
      const ctx = parent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, { traceparent: parent }, defaultTextMapGetter)
      return new OtelSpan(tracer.startSpan(name, { kind: KINDS[kind], attributes: attrs }, ctx))
    },
    shutdown: async () => { await (closed ??= provider.shutdown()) }
  }
}

class OtelSpan implements TraceSpan {
  private tp?: string
  constructor (private readonly span: Span) {}

  get traceparent (): string {
    if (this.tp === undefined) {
      const carrier: Record<string, string> = {}
      propagator.inject(trace.setSpan(ROOT_CONTEXT, this.span), carrier, defaultTextMapSetter)
      this.tp = carrier.traceparent
    }
    return this.tp
  }

  setAttributes (attrs: SpanAttributes): void { this.span.setAttributes(attrs) }
  addEvent (name: string, attrs?: SpanAttributes): void { this.span.addEvent(name, attrs) }

  end (err?: unknown): void {
    if (err !== undefined) {
      const type = errorType(err)
      this.span.setAttribute(ATTR_ERROR_TYPE, type)
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: type })
    }
    this.span.end()
  }
}
