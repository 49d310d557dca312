// src/client/wire.ts is generated from the protos: it must be what the generator makes of the current protos.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RPCS } from '../../src/client/wire.js';
import { protoRoutes } from '../../src/api/grpc/proto.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('generated wire types', () => {
  it('are current (npm run build regenerates them)', () => {
    expect(() => execFileSync(process.execPath, ['scripts/gen-client-types.mjs', '--check'], { cwd: ROOT, stdio: 'pipe' })).not.toThrow();
  });

  it('carry every RPC with its REST binding, as the server reads the protos', () => {
    const fromServer = protoRoutes().map((r) => [r.rpc, r.service, r.method, r.path, r.body]);
    const fromClient = Object.entries(RPCS).map(([rpc, s]) => [rpc, s.service, ...s.http]);
    expect(fromClient.sort()).toEqual(fromServer.sort());
  });
});
