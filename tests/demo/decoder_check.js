#!/usr/bin/env node
// The demo's OTLP decoder (examples/demo/otlp_decode.hpp) against bytes written by the official
// OpenTelemetry JS implementation: @opentelemetry/otlp-transformer's ProtobufTraceSerializer (the
// protobufjs code generated from the official opentelemetry-proto) encodes spans with every field
// the demo reads; demo_decode_dump decodes them and every value must come back.
// Exits 77 (meson: skipped) when tests/interop/node_modules is missing.
//
// usage: node decoder_check.js --interop-dir DIR --dump EXE --work-dir DIR
'use strict';

const fs = require('fs');
const path = require('path');
const {execFileSync} = require('child_process');
const {createRequire} = require('module');

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i + 1 < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = path.resolve(argv[i + 1]);
for (const k of ['interop-dir', 'dump', 'work-dir']) {
  if (!args[k]) throw new Error(`missing --${k}`);
}
const transformerDir = path.join(args['interop-dir'], 'node_modules', '@opentelemetry', 'otlp-transformer');
if (!fs.existsSync(transformerDir)) {
  console.log(`SKIP: ${path.join(args['interop-dir'], 'node_modules')} is not installed; ` +
              `run \`npm ci --prefix ${args['interop-dir']}\` to enable the decoder check.`);
  process.exit(77);
}
const requireInterop = createRequire(path.join(args['interop-dir'], 'package.json'));
const transformer = requireInterop('@opentelemetry/otlp-transformer');
const version = JSON.parse(fs.readFileSync(path.join(transformerDir, 'package.json'))).version;

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const resourceA = {attributes: {'service.name': 'coordinator', 'process.pid': 4242}};
const resourceB = {attributes: {'service.name': 'executor-1', 'process.pid': 4343}};
const scope = {name: 'krishiv-trace', version: '0.1.0'};
function span(o) {
  return {
    name: o.name,
    kind: o.kind,  // API SpanKind: INTERNAL 0, SERVER 1, CLIENT 2
    spanContext: () => ({traceId, spanId: o.id, traceFlags: 1,
                         traceState: o.state ? {serialize: () => o.state} : undefined}),
    parentSpanContext: o.parent ? {traceId, spanId: o.parent, traceFlags: 1, isRemote: !!o.remote} : undefined,
    startTime: o.start, endTime: o.end,
    attributes: o.attributes || {}, droppedAttributesCount: 0,
    events: o.events || [], droppedEventsCount: 0,
    links: [], droppedLinksCount: 0,
    status: o.status || {code: 0},
    resource: o.resource, instrumentationScope: scope,
  };
}
const spans = [
  span({name: 'Session::sql', kind: 0, id: '00f067aa0ba902b7', start: [1700000000, 1000], end: [1700000000, 90001000],
        attributes: {job_id: 'job-42', epoch: 7, ratio: 0.25, ok: true, tags: ['a', 'b'], big: -9007199254740991},
        events: [{name: 'planned', time: [1700000000, 5000], attributes: {stages: 2}}],
        state: 'rojo=00f067aa0ba902b7', resource: resourceA}),
  span({name: 'krishiv.Executor/RunTask', kind: 2, id: '1000000000000001', parent: '00f067aa0ba902b7',
        start: [1700000000, 2000000], end: [1700000000, 50000000], resource: resourceA,
        attributes: {'rpc.system.name': 'grpc', 'server.port': 40000}}),
  span({name: 'Executor::run_task', kind: 0, id: '2000000000000002', parent: '1000000000000001', remote: true,
        start: [1700000000, 3000000], end: [1700000001, 7], resource: resourceB,
        attributes: {job_id: 'job-42', task_id: 0, operator_id: 'window_agg', 'h\u00e9': '\u2713'},
        status: {code: 2, message: 'it broke'}}),
];

fs.mkdirSync(args['work-dir'], {recursive: true});
const file = path.join(args['work-dir'], 'js_request.bin');
fs.writeFileSync(file, Buffer.from(transformer.ProtobufTraceSerializer.serializeRequest(spans)));
const got = JSON.parse(execFileSync(args.dump, [file], {encoding: 'utf8'}));

const errors = [];
// Key order does not matter (the dump's JSON sorts keys); array order does.
const canon = (v) => (Array.isArray(v) ? v.map(canon)
    : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const eq = (where, a, b) => {
  if (JSON.stringify(canon(a)) !== JSON.stringify(canon(b))) {
    errors.push(`${where}: decoded ${JSON.stringify(a)}, official ${JSON.stringify(b)}`);
  }
};
const nanos = (hr) => (BigInt(hr[0]) * 1000000000n + BigInt(hr[1])).toString();
function want(v) {
  if (typeof v === 'string') return {string: v};
  if (typeof v === 'boolean') return {bool: v};
  if (typeof v === 'number') return Number.isInteger(v) ? {int: String(v)} : {double: v};
  if (Array.isArray(v)) return {string: '[' + v.join(', ') + ']'};
  throw new Error('unexpected value');
}
const wantAttrs = (o) => Object.entries(o).map(([key, v]) => ({key, value: want(v)}));

eq('ok', got.ok, true);
const groups = got.resource_spans;
eq('resource groups', groups.length, 2);
const decoded = groups.flatMap((g) => g.spans.map((s) => ({...s, resource: g.resource, scope_name: g.scope_name})));
eq('span count', decoded.length, spans.length);
spans.forEach((s, i) => {
  const d = decoded[i];
  if (!d) return;
  const at = `spans[${i}](${s.name})`;
  eq(`${at}.trace_id`, d.trace_id, traceId);
  eq(`${at}.span_id`, d.span_id, s.spanContext().spanId);
  eq(`${at}.parent_span_id`, d.parent_span_id, s.parentSpanContext ? s.parentSpanContext.spanId : '');
  eq(`${at}.trace_state`, d.trace_state, s.spanContext().traceState ? s.spanContext().traceState.serialize() : '');
  eq(`${at}.name`, d.name, s.name);
  eq(`${at}.kind`, d.kind, s.kind + 1);
  eq(`${at}.start`, d.start, nanos(s.startTime));
  eq(`${at}.end`, d.end, nanos(s.endTime));
  eq(`${at}.attributes`, d.attributes, wantAttrs(s.attributes));
  eq(`${at}.events`, d.events, s.events.map((e) => ({time: nanos(e.time), name: e.name, attributes: wantAttrs(e.attributes)})));
  eq(`${at}.status_code`, d.status_code, s.status.code);
  eq(`${at}.status_message`, d.status_message, s.status.message || '');
  eq(`${at}.resource`, d.resource, wantAttrs(s.resource.attributes));
  eq(`${at}.scope_name`, d.scope_name, scope.name);
});

if (errors.length > 0) {
  console.error(`FAIL: the demo's decoder disagrees with @opentelemetry/otlp-transformer ${version}:`);
  for (const e of errors) console.error(`  ${e}`);
  process.exit(1);
}
console.log(`OK: the demo's decoder reads ${spans.length} spans written by the official ` +
            `ProtobufTraceSerializer (@opentelemetry/otlp-transformer ${version}) field for field.`);
