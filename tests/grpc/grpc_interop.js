#!/usr/bin/env node
// gRPC trace propagation against independent implementations: the official OpenTelemetry JS
// W3C propagator (@opentelemetry/core), SDK (@opentelemetry/sdk-trace-base) and @grpc/grpc-js
// (pinned in tests/interop/package.json), talking to interop_peer (our interceptors).
//   (a) a JS client calls our server: what our server extracted, and the SERVER span it
//       recorded, agree with the JS span (trace id, parent span id, flags, tracestate);
//   (b) our client calls a JS server: what the JS propagator extracted agrees with our CLIENT
//       span.
// Prints every mismatch and exits 1; exits 77 (meson: skipped) when node_modules is missing.
//
// usage: node grpc_interop.js --interop-dir DIR --peer EXE
'use strict';

const path = require('path');
const fs = require('fs');
const crypto = require('crypto');
const readline = require('readline');
const {spawn} = require('child_process');
const {createRequire} = require('module');

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const interopDir = path.resolve(args['interop-dir']);
const peer = path.resolve(args['peer']);
if (!fs.existsSync(path.join(interopDir, 'node_modules', '@grpc', 'grpc-js'))) {
  console.log(`SKIP: ${interopDir}/node_modules is missing (npm ci --prefix tests/interop)`);
  process.exit(77);
}
const req = createRequire(path.join(interopDir, 'package.json'));
const grpc = req('@grpc/grpc-js');
const api = req('@opentelemetry/api');
const core = req('@opentelemetry/core');
const sdk = req('@opentelemetry/sdk-trace-base');

const propagator = new core.W3CTraceContextPropagator();
const provider = new sdk.BasicTracerProvider({
  sampler: new sdk.ParentBasedSampler({root: new sdk.AlwaysOnSampler()}),
});
const tracer = provider.getTracer('krishiv-trace-interop');

const failures = [];
function expect(what, got, want) {
  if (got !== want) failures.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
const hex = (n) => crypto.randomBytes(n).toString('hex');
const flagsHex = (f) => f.toString(16).padStart(2, '0');

const identity = (b) => b;
const method = {
  path: '/interop.Echo/Say', requestStream: false, responseStream: false,
  requestSerialize: identity, requestDeserialize: identity,
  responseSerialize: identity, responseDeserialize: identity,
};

// Lines of a child's stdout, as an async queue.
function lines(child) {
  const rl = readline.createInterface({input: child.stdout});
  const queue = [];
  const waiters = [];
  rl.on('line', (l) => (waiters.length ? waiters.shift()(l) : queue.push(l)));
  rl.on('close', () => { while (waiters.length) waiters.shift()(null); queue.push(null); });
  return () => new Promise((resolve) => (queue.length ? resolve(queue.shift()) : waiters.push(resolve)));
}

function exited(child) {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

async function jsClientToOurServer() {
  const server = spawn(peer, ['server'], {stdio: ['pipe', 'pipe', 'inherit']});
  const next = lines(server);
  const first = await next();
  if (!first || !first.startsWith('listening ')) throw new Error(`peer server said ${first}`);
  const port = first.slice('listening '.length);
  const Client = grpc.makeGenericClientConstructor({Say: method}, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  const call = (sampled) => {
    const parent = api.trace.setSpanContext(api.ROOT_CONTEXT, {
      traceId: hex(16), spanId: hex(8), isRemote: true,
      traceFlags: sampled ? api.TraceFlags.SAMPLED : api.TraceFlags.NONE,
      traceState: new core.TraceState('vendor=js,x=1'),
    });
    const span = tracer.startSpan('js-client', {kind: api.SpanKind.CLIENT}, parent);
    const carrier = {};
    propagator.inject(api.trace.setSpan(parent, span), carrier, api.defaultTextMapSetter);
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(carrier)) md.set(k, v);
    return new Promise((resolve, reject) => {
      client.Say(Buffer.from('x'), md, {deadline: Date.now() + 30000}, (err, reply) => {
        span.end();
        if (err) reject(err);
        else resolve({sc: span.spanContext(), got: JSON.parse(reply.toString())});
      });
    });
  };

  const sampled = await call(true);
  const unsampled = await call(false);
  for (const [label, {sc, got}] of [['sampled', sampled], ['unsampled', unsampled]]) {
    const x = got.extracted || {};
    expect(`(a ${label}) extracted trace id`, x.trace_id, sc.traceId);
    expect(`(a ${label}) extracted parent span id`, x.span_id, sc.spanId);
    expect(`(a ${label}) extracted flags`, x.flags, flagsHex(sc.traceFlags));
    expect(`(a ${label}) extracted tracestate`, x.tracestate, sc.traceState.serialize());
    const c = got.current || {};
    expect(`(a ${label}) handler's current trace id`, c.trace_id, sc.traceId);
    expect(`(a ${label}) handler's span is a new span`, c.span_id !== sc.spanId, true);
    expect(`(a ${label}) handler's sampled flag`, parseInt(c.flags, 16) & 1, sc.traceFlags & 1);
    expect(`(a ${label}) handler's tracestate`, c.tracestate, sc.traceState.serialize());
  }
  client.close();
  server.stdin.end();
  const spans = [];
  for (let l = await next(); l !== null; l = await next()) {
    if (l.startsWith('span ')) spans.push(JSON.parse(l.slice(5)));
  }
  expect('(a) peer server exit status', await exited(server), 0);
  const recorded = spans.filter((s) => s.trace_id === sampled.sc.traceId);
  expect('(a) SERVER spans recorded for the sampled call', recorded.length, 1);
  if (recorded.length === 1) {
    expect('(a) SERVER span parent', recorded[0].parent_span_id, sampled.sc.spanId);
    expect('(a) SERVER span name', recorded[0].name, 'interop.Echo/Say');
    expect('(a) SERVER span tracestate', recorded[0].tracestate, 'vendor=js,x=1');
  }
  expect('(a) nothing recorded for the unsampled call',
      spans.filter((s) => s.trace_id === unsampled.sc.traceId).length, 0);
}

async function ourClientToJsServer() {
  const seen = [];
  const server = new grpc.Server();
  const getter = {
    keys: (md) => Object.keys(md.getMap()),
    get: (md, key) => {
      const v = md.get(key).map(String);
      return v.length === 0 ? undefined : v;
    },
  };
  server.addService({Say: method}, {
    Say: (call, callback) => {
      const ctx = propagator.extract(api.ROOT_CONTEXT, call.metadata, getter);
      const sc = api.trace.getSpanContext(ctx);
      seen.push(sc);
      callback(null, Buffer.from(JSON.stringify(sc ? {trace_id: sc.traceId} : {})));
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
        (err, p) => (err ? reject(err) : resolve(p))));

  for (const [flags, state] of [['01', 'up=1,other=2'], ['00', '']]) {
    const upTrace = hex(16);
    const upSpan = hex(8);
    const argv = ['client', '--target', `127.0.0.1:${port}`,
      '--traceparent', `00-${upTrace}-${upSpan}-${flags}`];
    if (state) argv.push('--tracestate', state);
    const child = spawn(peer, argv, {stdio: ['ignore', 'pipe', 'inherit']});
    const next = lines(child);
    const out = [];
    for (let l = await next(); l !== null; l = await next()) out.push(l);
    expect(`(b ${flags}) peer client exit status`, await exited(child), 0);
    const got = seen.shift();
    if (!got) { failures.push(`(b ${flags}) the JS server extracted no context`); continue; }
    expect(`(b ${flags}) JS extracted trace id`, got.traceId, upTrace);
    expect(`(b ${flags}) JS extracted flags`, flagsHex(got.traceFlags), flags);
    expect(`(b ${flags}) JS extracted tracestate`, got.traceState ? got.traceState.serialize() : '', state);
    expect(`(b ${flags}) JS context is remote`, got.isRemote, true);
    const clientLine = out.find((l) => l.startsWith('client '));
    if (flags === '01') {
      if (!clientLine) { failures.push('(b) no CLIENT span recorded'); continue; }
      const span = JSON.parse(clientLine.slice(7));
      expect('(b) JS extracted parent span id = our CLIENT span', got.spanId, span.span_id);
      expect('(b) our CLIENT span trace id', span.trace_id, upTrace);
      expect('(b) our CLIENT span parent', span.parent_span_id, upSpan);
      expect('(b) our CLIENT span flags', span.flags, flagsHex(got.traceFlags));
      expect('(b) our CLIENT span tracestate', span.tracestate, state);
    } else {
      expect('(b 00) unsampled: no CLIENT span recorded', clientLine, undefined);
      expect('(b 00) a new span id, not the upstream one', got.spanId !== upSpan, true);
    }
  }
  server.forceShutdown();
}

(async () => {
  await jsClientToOurServer();
  await ourClientToJsServer();
  if (failures.length) {
    for (const f of failures) console.log(`MISMATCH ${f}`);
    process.exit(1);
  }
  console.log('grpc interop: both directions agree on trace id, parent span id, flags and tracestate');
  process.exit(0);
})().catch((e) => {
  console.log(`ERROR ${e.stack || e}`);
  process.exit(1);
});
