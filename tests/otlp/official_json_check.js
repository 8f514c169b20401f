#!/usr/bin/env node
// The OTLP/JSON file exporter (exporters/otlp_file.hpp) against the official OpenTelemetry JS
// implementation, @opentelemetry/otlp-transformer (pinned in tests/interop/package.json).
//
// otlp_interop_writer writes, for the same sample batch (every field and value kind):
// request.jsonl (our OTLP/JSON line), request.bin (our protobuf encoding, which
// otlp_official_schema proves equal to the official encoding) and expected.json (the spans as
// SpanView reports them).
//   1. Form: the JSON Protobuf Encoding rules of opentelemetry-proto docs/specification.md:
//      lowerCamelCase keys, ids as lowercase hex of the right length, enums as integers, 64-bit
//      integers as decimal strings; exactly one line, newline-terminated.
//   2. Wire: our JSON, read by the official generated ExportTraceServiceRequest.fromObject (ids
//      from hex, as OTLP/JSON requires), re-encodes to exactly request.bin: every field and value
//      of the JSON carries what the protobuf carries.
//   3. Serializer: the official JsonTraceSerializer, given the same spans as ReadableSpans, produces
//      the same request, field for field, once both are normalised through the official message
//      (defaults dropped, int64 as strings). Values JavaScript cannot hold (int64 beyond 2^53, a
//      double that is an integer, which JS serializes as intValue) are compared by 2 only; the
//      JS SDK always sets SpanFlags bit 8 (it always knows whether a parent was remote), ours only
//      when the record knows it, so bit 8 is compared only when we set it.
// Any mismatch prints every difference and exits 1. Exits 77 (meson: skipped) when
// tests/interop/node_modules is missing.
//
// usage: node official_json_check.js --interop-dir DIR --writer EXE --work-dir DIR
'use strict';

const fs = require('fs');
const path = require('path');
const {execFileSync} = require('child_process');
const {createRequire} = require('module');

const args = {};
const argv = process.argv.slice(2);
for (let i = 0; i + 1 < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = path.resolve(argv[i + 1]);
for (const k of ['interop-dir', 'writer', 'work-dir']) {
  if (!args[k]) throw new Error(`missing --${k}`);
}
const transformerDir = path.join(args['interop-dir'], 'node_modules', '@opentelemetry', 'otlp-transformer');
if (!fs.existsSync(transformerDir)) {
  console.log(`SKIP: ${path.join(args['interop-dir'], 'node_modules')} is not installed; ` +
              `run \`npm ci --prefix ${args['interop-dir']}\` to enable the OTLP/JSON check.`);
  process.exit(77);
}
const requireInterop = createRequire(path.join(args['interop-dir'], 'package.json'));
const transformer = requireInterop('@opentelemetry/otlp-transformer');
const official = require(path.join(transformerDir, 'build', 'src', 'generated', 'root.js'));
const transformerVersion = JSON.parse(fs.readFileSync(path.join(transformerDir, 'package.json'))).version;
const Request = official.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const errors = [];
const fail = (where, msg) => errors.push(`${where}: ${msg}`);

fs.mkdirSync(args['work-dir'], {recursive: true});
execFileSync(args.writer, [args['work-dir']], {stdio: 'inherit'});
const text = fs.readFileSync(path.join(args['work-dir'], 'request.jsonl'), 'utf8');
const bytes = fs.readFileSync(path.join(args['work-dir'], 'request.bin'));
const expected = JSON.parse(fs.readFileSync(path.join(args['work-dir'], 'expected.json'), 'utf8'));

// ---- 1. form -----------------------------------------------------------------------------------

if (!text.endsWith('\n') || text.indexOf('\n') !== text.length - 1) {
  fail('form', 'the file must hold exactly one newline-terminated line');
}
const ours = JSON.parse(text);
const ID_LEN = {traceId: 32, spanId: 16, parentSpanId: 16};
const INT64 = new Set(['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano', 'intValue']);
const ENUMS = new Set(['kind', 'code']);
function checkForm(v, where) {
  if (Array.isArray(v)) {
    v.forEach((e, i) => checkForm(e, `${where}[${i}]`));
    return;
  }
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    const at = `${where}.${k}`;
    if (!/^[a-z][a-zA-Z0-9]*$/.test(k)) fail(at, 'key is not lowerCamelCase');
    if (k in ID_LEN && !new RegExp(`^[0-9a-f]{${ID_LEN[k]}}$`).test(x)) {
      fail(at, `${JSON.stringify(x)} is not ${ID_LEN[k]} lowercase hex digits`);
    }
    if (INT64.has(k) && !(typeof x === 'string' && /^-?[0-9]+$/.test(x))) {
      fail(at, `${JSON.stringify(x)}: a 64-bit integer must be a decimal string`);
    }
    if (ENUMS.has(k) && !Number.isInteger(x)) fail(at, `${JSON.stringify(x)}: an enum must be an integer`);
    checkForm(x, at);
  }
}
checkForm(ours, 'json');

// ---- 2. wire -----------------------------------------------------------------------------------

// OTLP/JSON ids are hex; protobuf's JSON mapping (fromObject) reads bytes as base64.
function idsToBase64(v) {
  if (Array.isArray(v)) return v.map(idsToBase64);
  if (v === null || typeof v !== 'object') return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k in ID_LEN && typeof x === 'string' ? Buffer.from(x, 'hex').toString('base64') : idsToBase64(x);
  }
  return out;
}
let message;
try {
  message = Request.fromObject(idsToBase64(ours));
  const verr = Request.verify(message);
  if (verr) fail('wire', `official verify: ${verr}`);
} catch (e) {
  fail('wire', `the official fromObject rejects our JSON: ${e.message}`);
}
if (message) {
  const again = Buffer.from(Request.encode(message).finish());
  if (!again.equals(bytes)) {
    let i = 0;
    while (i < again.length && i < bytes.length && again[i] === bytes[i]) ++i;
    fail('wire', `our JSON, read by the official message, encodes differently from our protobuf at ` +
         `byte ${i} (JSON-derived ${again.length} bytes, protobuf ${bytes.length})`);
  }
}

// ---- 3. the official JSON serializer -----------------------------------------------------------

const UNREPRESENTABLE = Symbol('unrepresentable');
function jsValue(v) {
  switch (v.kind) {
    case 'bool': case 'string': return v.value;
    case 'int': {
      const n = Number(v.value);
      return Number.isSafeInteger(n) ? n : UNREPRESENTABLE;
    }
    case 'double': return Number.isInteger(v.value) ? UNREPRESENTABLE : v.value;
    case 'bytes': return new Uint8Array(Buffer.from(v.value, 'hex'));
    case 'array': {
      const a = v.value.map(jsValue);
      return a.includes(UNREPRESENTABLE) ? UNREPRESENTABLE : a;
    }
    case 'kvlist': {
      const o = {};
      for (const e of v.value) {
        const x = jsValue(e.value);
        if (x === UNREPRESENTABLE) return UNREPRESENTABLE;
        o[e.key] = x;
      }
      return o;
    }
  }
  throw new Error(`unknown kind ${v.kind}`);
}
const skipped = new Set();
function jsAttributes(list) {
  const o = {};
  for (const a of list) {
    const x = jsValue(a.value);
    if (x === UNREPRESENTABLE) skipped.add(a.key);
    else o[a.key] = x;
  }
  return o;
}
const hr = (ns) => [Number(BigInt(ns) / 1000000000n), Number(BigInt(ns) % 1000000000n)];
const traceState = (s) => (s ? {serialize: () => s} : undefined);
const resource = {attributes: jsAttributes(expected.resource.attributes)};
const scope = {name: expected.scope.name, version: expected.scope.version};
const readable = expected.spans.map((s) => ({
  name: s.name,
  kind: s.kind - 1,  // the API's SpanKind has no UNSPECIFIED: the serializer adds 1
  spanContext: () => ({traceId: s.trace_id, spanId: s.span_id, traceFlags: s.flags & 0xff,
                        traceState: traceState(s.trace_state)}),
  parentSpanContext: s.parent_span_id
      ? {traceId: s.trace_id, spanId: s.parent_span_id, traceFlags: 0,
         isRemote: (s.flags & 0x100) ? (s.flags & 0x200) !== 0 : undefined}
      : undefined,
  startTime: hr(s.start_time_unix_nano),
  endTime: hr(s.end_time_unix_nano),
  attributes: jsAttributes(s.attributes),
  droppedAttributesCount: s.dropped_attributes_count,
  events: s.events.map((e) => ({name: e.name, time: hr(e.time_unix_nano), attributes: jsAttributes(e.attributes),
                                droppedAttributesCount: e.dropped_attributes_count})),
  droppedEventsCount: s.dropped_events_count,
  links: s.links.map((l) => ({
    context: {traceId: l.trace_id, spanId: l.span_id, traceFlags: l.flags & 0xff,
              traceState: traceState(l.trace_state), isRemote: (l.flags & 0x200) !== 0},
    attributes: jsAttributes(l.attributes), droppedAttributesCount: l.dropped_attributes_count})),
  droppedLinksCount: s.dropped_links_count,
  status: s.status ? {code: s.status.code, message: s.status.message || undefined} : {code: 0},
  resource,
  instrumentationScope: scope,
}));
const theirs = JSON.parse(Buffer.from(transformer.JsonTraceSerializer.serializeRequest(readable)).toString('utf8'));

// Through the official message, then without defaults (proto3 JSON omits them; the JS serializer
// writes some), except AnyValue's oneof members, whose zero values are values.
const ONEOF = new Set(['boolValue', 'intValue', 'doubleValue', 'stringValue', 'bytesValue', 'arrayValue', 'kvlistValue']);
function stripDefaults(v) {
  if (Array.isArray(v)) return v.map(stripDefaults);
  if (v === null || typeof v !== 'object') return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    if (ONEOF.has(k)) {
      out[k] = stripDefaults(x);
      continue;
    }
    const y = stripDefaults(x);
    const empty = y === 0 || y === '0' || y === '' || y === false ||
        (Array.isArray(y) && y.length === 0) ||
        (y && typeof y === 'object' && !Array.isArray(y) && Object.keys(y).length === 0);
    if (!empty) out[k] = y;
  }
  return out;
}
function normalise(obj, who) {
  const msg = Request.fromObject(idsToBase64(obj));
  const o = Request.toObject(msg, {longs: String, enums: Number, bytes: String, defaults: false});
  for (const rs of o.resourceSpans || []) {
    if (rs.resource) rs.resource.attributes = (rs.resource.attributes || []).filter((a) => !skipped.has(a.key));
    for (const ss of rs.scopeSpans || []) {
      for (const sp of ss.spans || []) {
        sp.attributes = (sp.attributes || []).filter((a) => !skipped.has(a.key));
        for (const e of sp.events || []) e.attributes = (e.attributes || []).filter((a) => !skipped.has(a.key));
        for (const l of sp.links || []) l.attributes = (l.attributes || []).filter((a) => !skipped.has(a.key));
      }
    }
  }
  return stripDefaults(JSON.parse(JSON.stringify(o)));
}
const a = normalise(ours, 'ours');
const b = normalise(theirs, 'official');
// SpanFlags bit 8: see the header comment.
(a.resourceSpans || []).forEach((rs, i) => (rs.scopeSpans || []).forEach((ss, j) => (ss.spans || []).forEach((sp, k) => {
  const other = b.resourceSpans?.[i]?.scopeSpans?.[j]?.spans?.[k];
  if (other && !((sp.flags || 0) & 0x100) && other.flags !== undefined) {
    other.flags &= ~0x100;
    if (other.flags === 0) delete other.flags;
  }
})));
function diff(x, y, where) {
  if (typeof x !== typeof y || Array.isArray(x) !== Array.isArray(y) || (x === null) !== (y === null)) {
    fail(where, `ours ${JSON.stringify(x)}, official ${JSON.stringify(y)}`);
    return;
  }
  if (x && typeof x === 'object') {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) {
      if (!(k in x)) fail(`${where}.${k}`, `missing in ours (official ${JSON.stringify(y[k])})`);
      else if (!(k in y)) fail(`${where}.${k}`, `not in official (ours ${JSON.stringify(x[k])})`);
      else diff(x[k], y[k], `${where}.${k}`);
    }
    return;
  }
  if (!(x === y || (Number.isNaN(x) && Number.isNaN(y)))) fail(where, `ours ${JSON.stringify(x)}, official ${JSON.stringify(y)}`);
}
diff(a, b, 'request');
const spanCount = (a.resourceSpans?.[0]?.scopeSpans?.[0]?.spans || []).length;
if (spanCount !== expected.spans.length) fail('request', `${spanCount} spans, want ${expected.spans.length}`);

// The comparison must not be vacuous: a changed value on either side has to be reported.
if (errors.length === 0) {
  const before = errors.length;
  const c = JSON.parse(JSON.stringify(a));
  c.resourceSpans[0].scopeSpans[0].spans[0].name += '!';
  diff(c, b, 'self-check');
  if (errors.length === before) errors.push('self-check: a changed span name went unnoticed');
  else errors.length = before;
}

if (errors.length > 0) {
  console.error(`FAIL: ${errors.length} mismatch(es) against @opentelemetry/otlp-transformer ${transformerVersion}:`);
  for (const e of errors) console.error(`  ${e}`);
  process.exit(1);
}
console.log(`OK: our OTLP/JSON line of ${expected.spans.length} spans follows the JSON Protobuf Encoding, ` +
            `re-encodes through the official message to our protobuf bytes exactly, and equals the ` +
            `official JsonTraceSerializer's request field for field ` +
            `(@opentelemetry/otlp-transformer ${transformerVersion}; by the wire check only: ` +
            `${[...skipped].join(', ')}).`);
