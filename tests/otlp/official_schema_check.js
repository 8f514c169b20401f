#!/usr/bin/env node
// The official-schema check for krishiv-trace's hand-written OTLP encoding.
//
// The reference is the protobufjs code that @opentelemetry/otlp-transformer generates from the
// official opentelemetry-proto (build/src/generated/root.js; pinned in tests/interop/package.json).
//   1. Schema: every message and enum of tests/otlp/otlp_test.proto (the schema of the C++
//      round-trip test) has exactly the official fields: names, numbers, types, labels, oneofs,
//      enum values. The official field table is read from the generated encoders, which spell
//      out `id N, wireType W` and the writer method of every field.
//   2. Decode: request.bin (written by otlp_interop_writer) is decoded with the official
//      ExportTraceServiceRequest and compared field by field with expected.json, the same spans as
//      SpanView reports them.
//   3. Bytes: re-encoding the decoded message with the official encoder gives back our bytes
//      exactly (so no unknown fields, field order and varints as protobuf writes them).
// Any mismatch prints every difference and exits 1. Exits 77 (meson: skipped) when
// tests/interop/node_modules is missing.
//
// usage: node official_schema_check.js --interop-dir DIR --writer EXE --proto FILE --work-dir DIR
'use strict';

const fs = require('fs');
const path = require('path');
const {execFileSync} = require('child_process');
const {createRequire} = require('module');

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['interop-dir', 'writer', 'proto', 'work-dir']) {
    if (!out[k]) throw new Error(`missing --${k}`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
for (const k of ['interop-dir', 'writer', 'proto', 'work-dir']) args[k] = path.resolve(args[k]);
const rootJs = path.join(args['interop-dir'], 'node_modules', '@opentelemetry', 'otlp-transformer',
                         'build', 'src', 'generated', 'root.js');
if (!fs.existsSync(rootJs) || !fs.existsSync(path.join(args['interop-dir'], 'node_modules', 'protobufjs'))) {
  console.log(`SKIP: ${path.join(args['interop-dir'], 'node_modules')} is not installed; ` +
              `run \`npm ci --prefix ${args['interop-dir']}\` to enable the official-schema check.`);
  process.exit(77);
}
const requireInterop = createRequire(path.join(args['interop-dir'], 'package.json'));
const protobuf = requireInterop('protobufjs');
const official = require(rootJs);
const transformerVersion =
    JSON.parse(fs.readFileSync(path.join(path.dirname(rootJs), '..', '..', '..', 'package.json'))).version;

const errors = [];
function fail(where, msg) { errors.push(`${where}: ${msg}`); }
function eq(where, got, want) {
  if (!(got === want || (Number.isNaN(got) && Number.isNaN(want)))) {
    fail(where, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

// ---- 1. schema -----------------------------------------------------------------------------

// Official types and enums by their name inside their package ("Span.Event").
const OFFICIAL_PACKAGES = ['common.v1', 'resource.v1', 'trace.v1', 'collector.trace.v1'];
function officialTable() {
  const types = new Map();
  const enums = new Map();
  const isType = (v) => typeof v === 'function' && typeof v.encode === 'function' && typeof v.decode === 'function';
  const isEnum = (v) => v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 &&
      Object.values(v).every((x) => typeof x === 'number');
  const add = (map, name, v) => {
    if (map.has(name)) throw new Error(`ambiguous official name ${name}`);
    map.set(name, v);
  };
  function walkType(T, rel) {
    add(types, rel, T);
    for (const [k, v] of Object.entries(T)) {
      if (isType(v)) walkType(v, `${rel}.${k}`);
      else if (isEnum(v)) add(enums, `${rel}.${k}`, v);
    }
  }
  for (const pkg of OFFICIAL_PACKAGES) {
    let ns = official.opentelemetry.proto;
    for (const part of pkg.split('.')) ns = ns[part];
    if (!ns) throw new Error(`official package opentelemetry.proto.${pkg} missing from root.js`);
    for (const [k, v] of Object.entries(ns)) {
      if (isType(v)) walkType(v, k);
      else if (isEnum(v)) add(enums, k, v);
    }
  }
  return {types, enums};
}

const relOfficial = (full) => full.replace(/^opentelemetry\.proto\.(collector\.)?\w+\.v1\./, '');

// Field table of an official type, from its generated encode/fromObject/toObject functions.
function officialFields(T, where) {
  const enc = T.encode.toString();
  const fields = new Map();
  const put = (name, f) => {
    if (fields.has(name)) fail(where, `official field ${name} seen twice`);
    fields.set(name, f);
  };
  const reMsg = /\$root\.([\w.]+)\.encode\(message\.(\w+)(\[i\])?,\s*writer\.uint32\(\/\*\s*id (\d+), wireType (\d) =\*\/\s*\d+\)/g;
  for (const m of enc.matchAll(reMsg)) {
    put(m[2], {id: +m[4], wireType: +m[5], type: `message:${relOfficial(m[1])}`, repeated: !!m[3]});
  }
  const reScalar = /writer\.uint32\(\/\*\s*id (\d+), wireType (\d) =\*\/\s*\d+\)\.(\w+)\(message\.(\w+)(\[i\])?\)/g;
  for (const m of enc.matchAll(reScalar)) {
    let type = m[3];
    // Enums are written with int32; the generated toObject names the enum type.
    const enumRef = new RegExp(`\\$root\\.([\\w.]+)\\[message\\.${m[4]}(\\[j\\])?\\]`).exec(T.toObject.toString());
    if (enumRef) type = `enum:${relOfficial(enumRef[1])}`;
    put(m[4], {id: +m[1], wireType: +m[2], type, repeated: !!m[5]});
  }
  const ids = [...enc.matchAll(/\/\*\s*id (\d+), wireType/g)].length;
  if (ids !== fields.size) fail(where, `could not read all official fields (${fields.size} of ${ids})`);
  return fields;
}

// Official oneofs: getters on the prototype; a member is a field that, once set, the getter names.
function officialOneofs(T, fields) {
  const oneofs = new Map();
  for (const [prop, d] of Object.entries(Object.getOwnPropertyDescriptors(T.prototype))) {
    if (typeof d.get !== 'function') continue;
    const members = [];
    for (const [name, f] of fields) {
      const msg = new T();
      msg[name] = f.type.startsWith('message:') ? {} : (f.type === 'string' ? 'x' : f.type === 'bytes' ? new Uint8Array([1]) : 1);
      if (msg[prop] === name) members.push(name);
    }
    oneofs.set(prop, members.sort());
  }
  return oneofs;
}

const WIRE = {double: 1, float: 5, int64: 0, uint64: 0, int32: 0, fixed64: 1, fixed32: 5, bool: 0, string: 2,
  bytes: 2, uint32: 0, sfixed32: 5, sfixed64: 1, sint32: 0, sint64: 0};

function checkSchema(protoPath) {
  const {types, enums} = officialTable();
  const testRoot = protobuf.loadSync(protoPath);
  testRoot.resolveAll();
  const pkg = testRoot.lookup('krishiv.otlp_test');
  const relTest = (obj) => obj.fullName.replace(/^\.krishiv\.otlp_test\./, '');
  let messages = 0;
  let fieldCount = 0;
  let enumCount = 0;

  function walk(ns) {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Type) {
        checkType(obj);
        walk(obj);
      } else if (obj instanceof protobuf.Enum) {
        checkEnum(obj);
      } else if (obj.nestedArray) {
        walk(obj);
      }
    }
  }
  function checkEnum(E) {
    const name = relTest(E);
    const where = `schema enum ${name}`;
    const off = enums.get(name);
    if (!off) return fail(where, 'no official enum of this name');
    ++enumCount;
    const want = Object.entries(off).sort((a, b) => a[1] - b[1]);
    const got = Object.entries(E.values).sort((a, b) => a[1] - b[1]);
    eq(where, JSON.stringify(got), JSON.stringify(want));
  }
  function checkType(T) {
    const name = relTest(T);
    const where = `schema message ${name}`;
    const off = types.get(name);
    if (!off) return fail(where, 'no official message of this name');
    ++messages;
    const offFields = officialFields(off, where);
    const seen = new Set();
    for (const f of T.fieldsArray) {
      const w = `${where}.${f.name}`;
      seen.add(f.name);
      const o = offFields.get(f.name);
      if (!o) {
        fail(w, 'not an official field');
        continue;
      }
      ++fieldCount;
      eq(`${w} number`, f.id, o.id);
      eq(`${w} label`, f.repeated ? 'repeated' : 'singular', o.repeated ? 'repeated' : 'singular');
      if (f.map) fail(w, 'map fields are not expected');
      let type = f.type;
      let wire = WIRE[f.type];
      if (f.resolvedType instanceof protobuf.Type) {
        type = `message:${relTest(f.resolvedType)}`;
        wire = 2;
      } else if (f.resolvedType instanceof protobuf.Enum) {
        type = `enum:${relTest(f.resolvedType)}`;
        wire = 0;
      }
      eq(`${w} type`, type, o.type);
      eq(`${w} wire type`, wire, o.wireType);
    }
    for (const name of offFields.keys()) {
      if (!seen.has(name)) fail(`${where}.${name}`, 'official field missing from otlp_test.proto');
    }
    const offOneofs = officialOneofs(off, offFields);
    const testOneofs = new Map(T.oneofsArray.map((o) => [o.name, o.fieldsArray.map((f) => f.name).sort()]));
    eq(`${where} oneofs`, JSON.stringify([...testOneofs].sort()), JSON.stringify([...offOneofs].sort()));
  }
  walk(pkg);
  if (messages < 17) fail('schema', `only ${messages} messages checked`);
  return {messages, fieldCount, enumCount};
}

// ---- 2. decode and compare ------------------------------------------------------------------

const hex = (u8) => Buffer.from(u8 || []).toString('hex');
function longString(where, v) {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) fail(where, `64-bit value ${v} lost precision (no Long support)`);
    return String(v);
  }
  return v.toString();  // Long, signed or unsigned as declared
}
const has = (msg, field) => Object.prototype.hasOwnProperty.call(msg, field);

// proto3 implicit presence: an absent scalar reads as its default, and a default must not have
// been written at all (only oneof members are written when they hold the default).
function get(where, msg, field, kind) {
  const present = has(msg, field) && msg[field] != null;
  const DEFAULTS = {string: '', number: 0, long: '0', bytes: ''};
  if (!present) return DEFAULTS[kind];
  const v = msg[field];
  const norm = kind === 'long' ? longString(where, v) : kind === 'bytes' ? hex(v) : v;
  if (norm === DEFAULTS[kind]) fail(`${where}.${field}`, 'a default value was written (proto3 omits it)');
  return norm;
}

const ONEOF_OF_KIND = {string: 'stringValue', bool: 'boolValue', int: 'intValue', double: 'doubleValue',
  bytes: 'bytesValue', array: 'arrayValue', kvlist: 'kvlistValue'};

function cmpValue(where, av, want) {
  if (!av) return fail(where, 'AnyValue missing');
  eq(`${where} (oneof set)`, av.value, ONEOF_OF_KIND[want.kind]);
  switch (want.kind) {
    case 'string': return eq(where, av.stringValue, want.value);
    case 'bool': return eq(where, av.boolValue, want.value);
    case 'int': return eq(where, longString(where, av.intValue), want.value);
    case 'double': return eq(where, av.doubleValue, want.value);
    case 'bytes': return eq(where, hex(av.bytesValue), want.value);
    case 'array': {
      const got = av.arrayValue ? av.arrayValue.values : [];
      eq(`${where} length`, got.length, want.value.length);
      want.value.forEach((w, i) => cmpValue(`${where}[${i}]`, got[i], w));
      return;
    }
    case 'kvlist':
      return cmpAttributes(where, av.kvlistValue ? av.kvlistValue.values : [], want.value);
    default: return fail(where, `unknown expected kind ${want.kind}`);
  }
}

function cmpAttributes(where, got, want) {
  eq(`${where} count`, got.length, want.length);
  want.forEach((w, i) => {
    if (!got[i]) return;
    eq(`${where}[${i}].key`, get(`${where}[${i}]`, got[i], 'key', 'string'), w.key);
    cmpValue(`${where}[${i}](${w.key})`, got[i].value, w.value);
  });
}

function cmpSpan(where, s, w) {
  eq(`${where}.traceId`, hex(s.traceId), w.trace_id);
  eq(`${where}.spanId`, hex(s.spanId), w.span_id);
  eq(`${where}.traceState`, get(where, s, 'traceState', 'string'), w.trace_state);
  eq(`${where}.parentSpanId`, get(where, s, 'parentSpanId', 'bytes'), w.parent_span_id);
  // A root span's parent_span_id MUST be empty: not even written.
  eq(`${where}.parentSpanId present`, has(s, 'parentSpanId'), w.parent_span_id !== '');
  eq(`${where}.flags`, get(where, s, 'flags', 'number'), w.flags);
  eq(`${where}.name`, get(where, s, 'name', 'string'), w.name);
  eq(`${where}.kind`, get(where, s, 'kind', 'number'), w.kind);
  eq(`${where}.startTimeUnixNano`, get(where, s, 'startTimeUnixNano', 'long'), w.start_time_unix_nano);
  eq(`${where}.endTimeUnixNano`, get(where, s, 'endTimeUnixNano', 'long'), w.end_time_unix_nano);
  cmpAttributes(`${where}.attributes`, s.attributes, w.attributes);
  eq(`${where}.droppedAttributesCount`, get(where, s, 'droppedAttributesCount', 'number'), w.dropped_attributes_count);
  eq(`${where}.events count`, s.events.length, w.events.length);
  w.events.forEach((we, i) => {
    const e = s.events[i];
    if (!e) return;
    const at = `${where}.events[${i}]`;
    eq(`${at}.timeUnixNano`, get(at, e, 'timeUnixNano', 'long'), we.time_unix_nano);
    eq(`${at}.name`, get(at, e, 'name', 'string'), we.name);
    cmpAttributes(`${at}.attributes`, e.attributes, we.attributes);
    eq(`${at}.droppedAttributesCount`, get(at, e, 'droppedAttributesCount', 'number'), we.dropped_attributes_count);
  });
  eq(`${where}.droppedEventsCount`, get(where, s, 'droppedEventsCount', 'number'), w.dropped_events_count);
  eq(`${where}.links count`, s.links.length, w.links.length);
  w.links.forEach((wl, i) => {
    const l = s.links[i];
    if (!l) return;
    const at = `${where}.links[${i}]`;
    eq(`${at}.traceId`, hex(l.traceId), wl.trace_id);
    eq(`${at}.spanId`, hex(l.spanId), wl.span_id);
    eq(`${at}.traceState`, get(at, l, 'traceState', 'string'), wl.trace_state);
    cmpAttributes(`${at}.attributes`, l.attributes, wl.attributes);
    eq(`${at}.droppedAttributesCount`, get(at, l, 'droppedAttributesCount', 'number'), wl.dropped_attributes_count);
    eq(`${at}.flags`, get(at, l, 'flags', 'number'), wl.flags);
  });
  eq(`${where}.droppedLinksCount`, get(where, s, 'droppedLinksCount', 'number'), w.dropped_links_count);
  eq(`${where}.status present`, has(s, 'status'), w.status !== null);
  if (w.status !== null && s.status) {
    eq(`${where}.status.code`, get(`${where}.status`, s.status, 'code', 'number'), w.status.code);
    eq(`${where}.status.message`, get(`${where}.status`, s.status, 'message', 'string'), w.status.message);
  }
}

function cmpRequest(req, want) {
  eq('resourceSpans count', req.resourceSpans.length, 1);
  const rs = req.resourceSpans[0];
  if (!rs) return;
  cmpAttributes('resource.attributes', rs.resource ? rs.resource.attributes : [], want.resource.attributes);
  // Spans sharing a resource and scope share one ResourceSpans and one ScopeSpans.
  eq('scopeSpans count', rs.scopeSpans.length, 1);
  const ss = rs.scopeSpans[0];
  if (!ss) return;
  eq('scope.name', ss.scope ? get('scope', ss.scope, 'name', 'string') : undefined, want.scope.name);
  eq('scope.version', ss.scope ? get('scope', ss.scope, 'version', 'string') : undefined, want.scope.version);
  eq('spans count', ss.spans.length, want.spans.length);
  want.spans.forEach((w, i) => { if (ss.spans[i]) cmpSpan(`spans[${i}](${w.name})`, ss.spans[i], w); });
}

// ---- main ------------------------------------------------------------------------------------

const schema = checkSchema(args.proto);

execFileSync(args.writer, [args['work-dir']], {stdio: 'inherit'});
const bytes = fs.readFileSync(path.join(args['work-dir'], 'request.bin'));
const expected = JSON.parse(fs.readFileSync(path.join(args['work-dir'], 'expected.json'), 'utf8'));
const Request = official.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

let decoded;
try {
  decoded = Request.decode(bytes);
} catch (e) {
  fail('decode', `the official ExportTraceServiceRequest rejects our bytes: ${e.message}`);
}
if (decoded) {
  cmpRequest(decoded, expected);
  const again = Buffer.from(Request.encode(decoded).finish());
  if (!again.equals(bytes)) {
    let i = 0;
    while (i < again.length && i < bytes.length && again[i] === bytes[i]) ++i;
    fail('bytes', `official re-encoding differs from ours at byte ${i} (ours ${bytes.length} bytes, ` +
         `official ${again.length})`);
  }
}

// The comparison must not be vacuous: corrupting any expected field has to be reported.
if (decoded && errors.length === 0) {
  const mutations = [
    (e) => { e.spans[0].name += '!'; },
    (e) => { e.spans[0].flags ^= 0x200; },
    (e) => { e.spans[2].parent_span_id = e.spans[1].span_id; },
    (e) => { e.spans[0].links[1].flags ^= 0x100; },
    (e) => { e.spans[0].events[0].attributes[2].value.value[1].value += 1; },
    (e) => { e.spans[0].attributes.find((a) => a.key === 'kvlist').value.value[5].value.value[0].key = 'x'; },
    (e) => { e.spans[0].attributes.find((a) => a.key === 'int.min').value.value = '-9223372036854775807'; },
    (e) => { e.spans[1].status = null; },
    (e) => { e.resource.attributes[4].value.value[1].value = true; },
    (e) => { e.spans[0].end_time_unix_nano = String(BigInt(e.spans[0].end_time_unix_nano) + 1n); },
  ];
  mutations.forEach((mutate, i) => {
    const copy = JSON.parse(JSON.stringify(expected));
    mutate(copy);
    const before = errors.length;
    cmpRequest(decoded, copy);
    if (errors.length === before) {
      errors.push(`self-check: mutation ${i} of expected.json went unnoticed`);
    } else {
      errors.length = before;
    }
  });
}

if (errors.length > 0) {
  console.error(`FAIL: ${errors.length} mismatch(es) against the official OTLP schema ` +
                `(@opentelemetry/otlp-transformer ${transformerVersion}):`);
  for (const e of errors) console.error(`  ${e}`);
  process.exit(1);
}
console.log(`OK: otlp_test.proto matches the official schema (${schema.messages} messages, ` +
            `${schema.fieldCount} fields, ${schema.enumCount} enums); ${bytes.length} bytes of ` +
            `${expected.spans.length} spans decode field by field with the official ` +
            `ExportTraceServiceRequest and re-encode byte for byte ` +
            `(@opentelemetry/otlp-transformer ${transformerVersion}).`);
