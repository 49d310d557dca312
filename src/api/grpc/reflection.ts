// Server reflection (grpcurl list/describe) over the Permio protos and health, with descriptors grpcurl can link.
import path from 'node:path';
import type { Server } from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { LOADER_OPTIONS, loadPackageDefinition } from './proto.js';

// The parts of google.protobuf.*DescriptorProto (protobufjs JSON names) that name other types.
interface FieldProto {
  name: string;
  typeName?: string;
  extendee?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
}
interface MessageProto {
  name: string;
  extensionRange?: { start: number; end: number }[];
  reservedRange?: { start: number; end: number }[];
  field?: FieldProto[];
  nestedType?: MessageProto[];
  enumType?: { name: string }[];
  oneofDecl?: { name: string }[];
}
interface FileProto {
  name: string;
  package?: string;
  syntax?: string;
  dependency?: string[];
  messageType?: MessageProto[];
  enumType?: { name: string }[];
  service?: { name: string; method?: { inputType: string; outputType: string }[] }[];
  extension?: FieldProto[];
}

const FileDescriptorProto = descriptor.FileDescriptorProto;

/** Every message and enum of `file` by full name, e.g. `permio.v1.Role`. */
function indexTypes(file: FileProto, into: Map<string, FileProto>): void {
  const visit = (scope: string, messages: MessageProto[] = [], enums: { name: string }[] = []) => {
    for (const e of enums) into.set(`${scope}${e.name}`, file);
    for (const m of messages) {
      into.set(`${scope}${m.name}`, file);
      visit(`${scope}${m.name}.`, m.nestedType, m.enumType);
    }
  };
  visit(file.package ? `${file.package}.` : '', file.messageType, file.enumType);
}

/** protoc's scoping: `FieldMask` seen from `permio.v1.Role` is tried as `permio.v1.Role.FieldMask`, `permio.v1.FieldMask`, … */
function resolve(name: string, scope: string, types: Map<string, FileProto>): string {
  if (name.startsWith('.')) return name.slice(1);
  for (let s = scope; ; s = s.slice(0, Math.max(s.lastIndexOf('.'), 0))) {
    const candidate = s ? `${s}.${name}` : name;
    if (types.has(candidate)) return candidate;
    if (!s) throw new Error(`reflection: cannot resolve type ${name} from ${scope}`);
  }
}

/**
 * Makes one file self-describing, as protoc would: type names fully qualified, `dependency` listing the files they
 * live in (proto-loader leaves it empty: grpc-node#2595), proto3 `optional` fields flagged on their synthetic
 * oneofs, range ends exclusive, no extension copies inside the extended messages, and the right syntax.
 */
function link(file: FileProto, types: Map<string, FileProto>): FileProto {
  const deps = new Set<string>();
  const ref = (name: string, scope: string) => {
    const full = resolve(name, scope, types);
    if (types.get(full) !== file) deps.add(types.get(full)!.name);
    return `.${full}`;
  };
  const linkField = (f: FieldProto, scope: string) => {
    if (f.typeName) f.typeName = ref(f.typeName, scope);
    if (f.extendee) f.extendee = ref(f.extendee, scope);
  };
  const linkMessages = (scope: string, messages: MessageProto[] = []) => {
    for (const m of messages) {
      const full = scope ? `${scope}.${m.name}` : m.name;
      // protobufjs copies each extension into the extended message as a field named like `.google.api.http`
      m.field = m.field?.filter((f) => !f.name.startsWith('.'));
      // protobufjs writes inclusive range ends; descriptor.proto's message ranges are end-exclusive
      for (const r of [...(m.extensionRange ?? []), ...(m.reservedRange ?? [])]) r.end += 1;
      for (const f of m.field ?? []) {
        linkField(f, full);
        if (f.oneofIndex !== undefined && m.oneofDecl?.[f.oneofIndex]?.name === `_${f.name}`) f.proto3Optional = true;
      }
      linkMessages(full, m.nestedType);
    }
  };
  const pkg = file.package ?? '';
  linkMessages(pkg, file.messageType);
  for (const e of file.extension ?? []) linkField(e, pkg);
  for (const s of file.service ?? []) {
    for (const m of s.method ?? []) {
      m.inputType = ref(m.inputType, pkg);
      m.outputType = ref(m.outputType, pkg);
    }
  }
  file.dependency = [...deps].sort();
  // proto-loader groups files by package and calls them all proto3; descriptor.proto is proto2 (Empty and FieldMask read the same)
  if (pkg === 'google.protobuf') file.syntax = 'proto2';
  return file;
}

type TypeDefinition = protoLoader.MessageTypeDefinition<object, object> | protoLoader.EnumTypeDefinition;

/** Message and enum definitions carry the file descriptors; service definitions do not. */
const isTypeDefinition = (def: protoLoader.AnyDefinition): def is TypeDefinition => typeof def.format === 'string';

/** The package definition with every `fileDescriptorProtos` replaced by the linked files. */
function linked(pkg: protoLoader.PackageDefinition): protoLoader.PackageDefinition {
  // every definition of one load shares the same descriptor buffers: decode each once (87 definitions share 3
  // files here; decoding them per definition took ~0.3 s of every start)
  const distinct = new Set(Object.values(pkg).filter(isTypeDefinition).flatMap((def) => def.fileDescriptorProtos));
  const files = new Map<string, FileProto>();
  for (const bytes of distinct) {
    const file = FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes)) as FileProto;
    files.set(file.name, file);
  }
  const types = new Map<string, FileProto>();
  for (const file of files.values()) indexTypes(file, types);
  const encoded = [...files.values()].map((f) =>
    Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(link(f, types))).finish()),
  );
  return Object.fromEntries(
    Object.entries(pkg).map(([name, def]) => [name, isTypeDefinition(def) ? { ...def, fileDescriptorProtos: encoded } : def]),
  );
}

/** Adds `grpc.reflection.v1` and `v1alpha`, describing both Permio services and `grpc.health.v1.Health`. */
export function addReflection(server: Server): void {
  // Loaded relative to its proto root so the health file is described under its usual package.
  const healthRoot = path.resolve(path.dirname(healthProtoPath), '../..');
  const health = protoLoader.loadSync('health/v1/health.proto', { ...LOADER_OPTIONS, includeDirs: [healthRoot] });
  new ReflectionService(linked({ ...loadPackageDefinition(), ...health })).addToServer(server);
}
