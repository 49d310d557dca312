// Builds a Permio data directory in-process through the real store writer (StoreWriter.applyBatch, big batches):
// one organisation, an organisation API key, projects with the engine bench's permissions, roles and grants.
import { generateKeySecret } from '../src/admin-key.js';
import { hashKey } from '../src/service/auth.js';
import { stampCommand, type CommandBody, type ProjectRef } from '../src/store/commands.js';
import { openStore } from '../src/store/env.js';
import type { OrgRecord, PermissionRecord, ProjectRecord } from '../src/store/records.js';
import { DEFAULT_PROJECT } from '../src/store/apply/organisations.js';
import { StoreWriter, type WriteResult } from '../src/store/writer.js';
import { generateGrant, PERMISSION_NAMES, principalCount, ROLES } from './engine-dataset.js';

const BATCH_COMMANDS = 20_000; // commands per transaction: large enough that commits are not the cost

/** The principal that holds every permission on {@link BENCH_USER_URI} in every project (like seed.ts). */
export const BENCH_USER = 'bench-user';
export const BENCH_USER_URI = '/tenants/t1';

export interface BuiltProject {
  name: string;
  /** Internal `prj_…` id (what the check pool shards by). */
  id: string;
  /** Grant commands applied (a repeated principal + URI merges into one stored entry). */
  grants: number;
  /** A grant to check: passes. */
  probe: { principal: string; uri: string; permission: string };
}

export interface BuiltStore {
  organisationId: string;
  /** An organisation key (any project of the organisation). */
  key: string;
  projects: BuiltProject[];
  /** Grant entries stored, all projects. */
  storedGrants: number;
  seconds: number;
}

function value<T>(r: WriteResult): T {
  if (!r.ok) throw new Error(`store builder: ${r.status} ${r.message}`);
  return r.value as T;
}

/**
 * Writes `projects` (name → grant count; `default` is the organisation's own) into a new store in `dataDir`.
 * Grants are the engine bench's synthetic ones, offset per project so projects differ; `onProgress` gets grants written.
 */
export async function buildStore(
  dataDir: string,
  projects: readonly { name: string; grants: number }[],
  onProgress?: (written: number) => void,
): Promise<BuiltStore> {
  const started = performance.now();
  const store = openStore(dataDir, { readOnly: false });
  const writer = new StoreWriter(store);
  const apply = (cmds: CommandBody[]) => writer.applyBatch(cmds.map((c) => stampCommand(c))).map((r) => value<unknown>(r));

  const org = apply([{ op: 'createOrganisation', name: 'bench', user_id: 'bench-admin', plan: 'enterprise', rate_limit_per_minute: 0 }])[0] as OrgRecord;
  const key = generateKeySecret();
  apply([{ op: 'createApiKey', organisation_id: org.id, project_name: '', name: 'bench', hash: hashKey(key) }]);

  const built: BuiltProject[] = [];
  let written = 0;
  let offset = 0;
  for (const { name, grants } of projects) {
    const project =
      name === DEFAULT_PROJECT
        ? (store.dbs.projects.get([org.id, name]) as ProjectRecord)
        : (apply([{ op: 'createProject', organisation_id: org.id, name }])[0] as ProjectRecord);
    const ref: ProjectRef = { organisation_id: org.id, project_name: name, project_id: project.id };
    const permIds = (apply(PERMISSION_NAMES.map((n) => ({ op: 'createPermission', name: n, description: '', ...ref }))) as PermissionRecord[]).map((p) => p.id);
    apply(ROLES.map((perms, r) => ({ op: 'createRole', name: `role_${r}`, description: '', permissions: perms.map((p) => permIds[p]!), ...ref })));
    apply([{ op: 'grant', user_id: BENCH_USER, resource_uri: BENCH_USER_URI, permissions: PERMISSION_NAMES.slice(), roles: [], ...ref }]);

    const principals = principalCount(grants);
    for (let i = 0; i < grants; i += BATCH_COMMANDS) {
      const cmds: CommandBody[] = [];
      for (let k = i; k < Math.min(grants, i + BATCH_COMMANDS); k++) {
        const g = generateGrant(offset + k, principals);
        cmds.push({
          op: 'grant',
          user_id: g.principal,
          resource_uri: g.uri,
          permissions: g.permissionIds.map((id) => permIds[Number(id.slice('perm_'.length))]!), // real ids: one lookup each
          roles: g.roleIds, // `role_<r>` is also the role's name
          ...ref,
        });
      }
      apply(cmds);
      written += cmds.length;
      onProgress?.(written);
    }
    const first = generateGrant(offset, principals);
    const holds = first.permissionIds.length ? Number(first.permissionIds[0]!.slice('perm_'.length)) : ROLES[Number(first.roleIds[0]!.slice('role_'.length))]![0]!;
    built.push({ name, id: project.id, grants, probe: { principal: first.principal, uri: first.uri, permission: PERMISSION_NAMES[holds]! } });
    offset += grants;
  }
  const storedGrants = store.dbs.grants.getKeysCount();
  await store.close();
  return { organisationId: org.id, key, projects: built, storedGrants, seconds: (performance.now() - started) / 1000 };
}
