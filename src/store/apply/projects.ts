// Applies project commands: create, and delete with everything in it (one PROJECT_DELETED event).
import type { Database } from 'lmdb';
import { Errors } from '../../errors.js';
import type { CommandOf as Cmd } from '../commands.js';
import { keyOf, rangeOf, type Key, type KeyRange } from '../keys.js';
import type { ApiKeyRecord, ProjectRecord } from '../records.js';
import { requireOrg } from './lookups.js';
import { seqDigits, type WriteTxn } from './write-txn.js';

export function createProjectRecord(tx: WriteTxn, orgId: string, name: string): ProjectRecord {
  requireOrg(tx, orgId);
  const key = keyOf.project(orgId, name);
  if (tx.db.projects.get(key)) throw Errors.conflict('project', name);
  const seq = tx.nextSeq();
  const project: ProjectRecord = { id: `prj_${seqDigits(seq)}`, organisation_id: orgId, name, created_at: tx.timestamp(), seq };
  tx.db.projects.putSync(key, project);
  return project;
}

export function createProject(tx: WriteTxn, cmd: Cmd<'createProject'>): ProjectRecord {
  return createProjectRecord(tx, cmd.organisation_id, cmd.name);
}

export function deleteProject(tx: WriteTxn, cmd: Cmd<'deleteProject'>): object {
  requireOrg(tx, cmd.organisation_id);
  const key = keyOf.project(cmd.organisation_id, cmd.name);
  const project = tx.db.projects.get(key) as ProjectRecord | undefined;
  if (!project) throw Errors.notFound('project', cmd.name);
  const { permissions, permNames, roles, roleNames, grants, grantOrder, grantSubjects, apikeys } = tx.db;
  // grantExpiry keys of the project are left to the sweep, which drops keys whose entry is gone
  for (const db of [permissions, permNames, roles, roleNames, grants, grantOrder, grantSubjects]) removeRange(db, rangeOf.project(project.id));
  for (const { key: k, value } of [...apikeys.getRange(rangeOf.organisation(cmd.organisation_id))]) {
    const rec = value as ApiKeyRecord;
    if (rec.project_id === project.id && !rec.invalidated) {
      apikeys.putSync(k, { ...rec, invalidated: true });
      tx.markKeysInvalidated();
    }
  }
  tx.db.projects.removeSync(key);
  tx.emit(project.id, { type: 'PROJECT_DELETED' });
  return {};
}

function removeRange(db: Database, range: KeyRange): void {
  const keys = [...db.getKeys(range)] as Key[]; // collect first: no writes under a live cursor
  for (const key of keys) db.removeSync(key);
}
