// Emits src/client/wire.ts — the client's wire types and RPC table — from proto/permio/v1 (run by `npm run build`).
// The protos are the one source of the API's shapes: request messages become all-optional interfaces, other
// messages the REST bodies (every field present, as the server emits defaults, except proto3 `optional` ones);
// each RPC gets its service, streaming kinds and `google.api.http` binding. Writes the file only when it changes.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROTO_DIR = path.join(ROOT, 'proto');
const PACKAGE = 'permio.v1';
const OUT = path.join(ROOT, 'src/client/wire.ts');
const HTTP_OPTION = '(google.api.http)';
const HTTP_METHODS = ['get', 'post', 'patch', 'delete', 'put'];

/** Every .proto of the package, so a new file needs no edit here. */
function protoFiles() {
  const dir = path.join(PROTO_DIR, 'permio/v1');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).sort().map((f) => `permio/v1/${f}`);
}

function loadRoot(files) {
  const require = createRequire(import.meta.url);
  protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const local = path.join(PROTO_DIR, target);
    return fs.existsSync(local) ? local : target; // google/protobuf/* come bundled with protobufjs
  };
  root.loadSync(files, { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}

const SCALARS = {
  string: 'string',
  bool: 'boolean',
  bytes: 'Uint8Array',
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  int64: 'number', // proto-loader `longs: Number`; JSON numbers on REST
  uint64: 'number',
  sint64: 'number',
  fixed64: 'number',
  sfixed64: 'number',
};

/** Well-known types the protos use, as their JSON shapes. */
const WELL_KNOWN = {
  'google.protobuf.Empty': 'Empty',
  'google.protobuf.FieldMask': '{ paths?: string[] }',
};

const doc = (text, indent = '') =>
  text ? `${indent}/** ${text.trim().replace(/\*\//g, '*\\/').split('\n').join(`\n${indent} * `)} */\n` : '';

/** A TS type name for a resolved message or enum (short name inside the package). */
function typeName(t) {
  const full = t.fullName.slice(1);
  if (WELL_KNOWN[full]) return WELL_KNOWN[full];
  if (!full.startsWith(`${PACKAGE}.`)) throw new Error(`unsupported type ${full}`);
  return full.slice(PACKAGE.length + 1).replace(/\./g, '_');
}

/** Messages reachable from request messages: their fields are optional, nested messages too. */
function inputMessages(services) {
  const seen = new Set();
  const visit = (type) => {
    if (!(type instanceof protobuf.Type) || seen.has(type)) return;
    seen.add(type);
    for (const f of type.fieldsArray) visit(f.resolvedType);
  };
  for (const s of services) for (const m of s.methodsArray) visit(m.resolvedRequestType);
  return seen;
}

function fieldType(f, input) {
  let t;
  if (f.resolvedType instanceof protobuf.Enum) t = Object.keys(f.resolvedType.values).map((v) => JSON.stringify(v)).join(' | ');
  else if (f.resolvedType) t = typeName(f.resolvedType);
  else t = SCALARS[f.type];
  if (t === undefined) throw new Error(`unsupported field type ${f.type} of ${f.fullName}`);
  if (f.map) return `Record<string, ${t}>`;
  return f.repeated ? (t.includes(' ') ? `Array<${t}>` : `${t}[]`) : t;
}

function emitMessage(type, input) {
  const optionalField = (f) => input || f.options?.proto3_optional === true;
  const lines = [doc(type.comment), `export interface ${typeName(type)} {\n`];
  for (const f of type.fieldsArray) {
    lines.push(doc(f.comment, '  '), `  ${f.name}${optionalField(f) ? '?' : ''}: ${fieldType(f, input)};\n`);
  }
  lines.push('}\n');
  return lines.join('');
}

function emitEnum(e) {
  return `${doc(e.comment)}export type ${typeName(e)} = ${Object.keys(e.values).map((v) => JSON.stringify(v)).join(' | ')};\n`;
}

/** The `google.api.http` binding: `[method, path template, body]`. */
function httpBinding(method) {
  const option = (method.parsedOptions ?? []).find((o) => o[HTTP_OPTION])?.[HTTP_OPTION];
  const verb = option && HTTP_METHODS.find((v) => option[v] !== undefined);
  if (!verb) throw new Error(`${method.fullName} has no google.api.http binding`);
  return [verb.toUpperCase(), option[verb], option.body ?? ''];
}

/** The repeated field of a list response that has `next_page_token` (what its pages hold), if any. */
function itemsField(response) {
  if (!response.fields.next_page_token) return undefined;
  const repeated = response.fieldsArray.filter((f) => f.repeated);
  return repeated.length === 1 ? repeated[0].name : undefined;
}

function generate() {
  const files = protoFiles();
  const root = loadRoot(files);
  const pkg = root.lookup(PACKAGE);
  const services = pkg.nestedArray.filter((n) => n instanceof protobuf.Service);
  const inputs = inputMessages(services);
  const out = [
    '// Generated by scripts/gen-client-types.mjs from proto/permio/v1 — do not edit: `npm run build` regenerates it.\n',
    '/* eslint-disable */\n\n',
    '/** `google.protobuf.Empty`: the `{}` answer. */\n',
    'export type Empty = Record<string, never>;\n\n',
  ];
  const walk = (ns) => {
    for (const n of ns.nestedArray) {
      if (n instanceof protobuf.Type) {
        out.push(emitMessage(n, inputs.has(n)), '\n');
        if (n.nestedArray.length) walk(n);
      } else if (n instanceof protobuf.Enum) out.push(emitEnum(n), '\n');
    }
  };
  walk(pkg);

  out.push('/** Every RPC: request and response types. */\nexport interface Rpcs {\n');
  for (const s of services) {
    for (const m of s.methodsArray) {
      out.push(`  ${m.name}: { request: ${typeName(m.resolvedRequestType)}; response: ${typeName(m.resolvedResponseType)} };\n`);
    }
  }
  out.push('}\n\n/** An RPC name, e.g. `Check`. */\nexport type RpcName = keyof Rpcs;\n\n');
  out.push('/** The item type of every list-style RPC (what its pages hold). */\nexport interface RpcItems {\n');
  for (const s of services) {
    for (const m of s.methodsArray) {
      const items = itemsField(m.resolvedResponseType);
      if (items) out.push(`  ${m.name}: ${fieldType(m.resolvedResponseType.fields[items], false).replace(/\[\]$|^Array<(.*)>$/, '$1')};\n`);
    }
  }
  out.push('}\n\n');
  out.push(
    '/** How an RPC travels: its service, streaming kinds, REST binding (`google.api.http`) and, for lists, the repeated field of its pages. */\n',
    'export interface RpcSpec {\n',
    '  readonly service: string;\n',
    '  readonly clientStream: boolean;\n',
    '  readonly serverStream: boolean;\n',
    "  readonly http: readonly ['GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', string, '*' | ''];\n",
    '  /** The top-level fields of the request message. */\n',
    '  readonly fields: readonly string[];\n',
    '  readonly items?: string;\n',
    '}\n\n',
    `/** The proto package. */\nexport const PROTO_PACKAGE = ${JSON.stringify(PACKAGE)};\n\n`,
    `/** The proto files, relative to the package's proto/ folder. */\nexport const PROTO_FILES: readonly string[] = ${JSON.stringify(files)};\n\n`,
    '/** Every RPC of every service, in proto order. */\nexport const RPCS: { readonly [R in RpcName]: RpcSpec } = {\n',
  );
  for (const s of services) {
    for (const m of s.methodsArray) {
      const items = itemsField(m.resolvedResponseType);
      const spec = {
        service: s.name,
        clientStream: m.requestStream === true,
        serverStream: m.responseStream === true,
        http: httpBinding(m),
        fields: m.resolvedRequestType.fieldsArray.map((f) => f.name),
        ...(items ? { items } : {}),
      };
      const props = Object.entries(spec).map(([k, v]) => `${k}: ${JSON.stringify(v).replace(/","/g, '", "')}`);
      out.push(`  ${m.name}: { ${props.join(', ')} },\n`);
    }
  }
  out.push('};\n');
  return out.join('').replace(/\n{3,}/g, '\n\n');
}

const text = generate();
const check = process.argv.includes('--check');
const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
if (check) {
  if (current !== text) {
    console.error(`${path.relative(ROOT, OUT)} is out of date: run npm run build`);
    process.exit(1);
  }
} else if (current !== text) {
  fs.writeFileSync(OUT, text);
}
