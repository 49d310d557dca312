// Loads the Permio protos once (proto-loader for grpc-js, protobufjs with comments for the docs) and reads their HTTP rules.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import type { HttpMethod, RouteSpec, ServiceName } from '../operations.js';

/** The proto package of every Permio service. */
export const PROTO_PACKAGE = 'permio.v1';

/** The Permio services, by short name. */
export const SERVICE_NAMES: readonly ServiceName[] = ['PermissionsService', 'OrganisationService'];

/** The entry files, relative to {@link PROTO_DIR}. */
export const PROTO_FILES: readonly string[] = ['permio/v1/permissions.proto', 'permio/v1/organisations.proto'];

/** Field names stay snake_case (the JSON names); absent scalars stay undefined; int64 arrive as numbers. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: true,
};

/** The package root: the nearest folder above this file with a package.json (`src/…` under vitest, `dist/src/…` under node). */
function packageRoot(from: string): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** Absolute path of the `proto/` folder (include dir of every import). */
export const PROTO_DIR = path.join(packageRoot(path.dirname(fileURLToPath(import.meta.url))), 'proto');

let definition: protoLoader.PackageDefinition | undefined;

/** The package definition of both services and their imports, loaded on first use. */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  return definition;
}

/** The proto-loader service definition of `permio.v1.<name>`. */
export function serviceDefinition(name: ServiceName): protoLoader.ServiceDefinition {
  return loadPackageDefinition()[`${PROTO_PACKAGE}.${name}`] as protoLoader.ServiceDefinition;
}

/** The `google.api.http` option as protobufjs parses it, e.g. `{ patch: '/v1/roles/{role_id}', body: '*' }`. */
interface HttpOption {
  get?: string;
  post?: string;
  patch?: string;
  delete?: string;
  put?: string;
  body?: string;
}

const HTTP_OPTION = '(google.api.http)';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PATCH', 'DELETE'];

/** One RPC's HTTP binding, read from its `google.api.http` annotation; throws on bindings REST cannot serve. */
function routeOf(service: ServiceName, rpc: string, option: HttpOption | undefined): RouteSpec {
  const method = METHODS.find((m) => option?.[m.toLowerCase() as keyof HttpOption] !== undefined);
  if (option === undefined || method === undefined) throw new Error(`${service}.${rpc} has no supported google.api.http rule`);
  const body = option.body ?? '';
  if (body !== '*' && body !== '') throw new Error(`${service}.${rpc}: body "${body}" is not supported (use "*" or none)`);
  return { service, rpc, method, path: option[method.toLowerCase() as keyof HttpOption]!, body };
}

let routes: readonly RouteSpec[] | undefined;

/** Every RPC of both services with its HTTP binding, in proto order. */
export function protoRoutes(): readonly RouteSpec[] {
  routes ??= SERVICE_NAMES.flatMap((service) =>
    Object.entries(serviceDefinition(service)).map(([rpc, def]) =>
      routeOf(service, rpc, def.options[HTTP_OPTION] as HttpOption | undefined),
    ),
  );
  return routes;
}

let root: protobuf.Root | undefined;

/**
 * The protos as a resolved protobufjs Root with comments attached (`alternateCommentMode` keeps `//` comments), for
 * the generated docs and the request guards (`wire-guard.ts`). proto-loader drops comments and hides its types,
 * hence this second, lazily loaded copy.
 */
export function protoRoot(): protobuf.Root {
  root ??= loadCommentedRoot();
  return root;
}

function loadCommentedRoot(): protobuf.Root {
  // proto-loader registers descriptor.proto the same way; doing it here keeps this loader self-contained.
  const require = createRequire(import.meta.url);
  protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const local = path.join(PROTO_DIR, target);
    return fs.existsSync(local) ? local : target; // google/protobuf/* come bundled with protobufjs
  };
  root.loadSync([...PROTO_FILES], { keepCase: true, alternateCommentMode: true });
  root.resolveAll();
  return root;
}
