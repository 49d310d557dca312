// Applies API key commands: create (the secret's hash only) and invalidate.
import { Errors } from '../../errors.js';
import type { CommandOf as Cmd } from '../commands.js';
import { keyOf } from '../keys.js';
import type { ApiKeyRecord, ProjectRecord } from '../records.js';
import { requireOrg } from './lookups.js';
import type { WriteTxn } from './write-txn.js';

export function createApiKey(tx: WriteTxn, cmd: Cmd<'createApiKey'>): ApiKeyRecord {
  requireOrg(tx, cmd.organisation_id);
  let projectId = '';
  if (cmd.project_name !== '') {
    const project = tx.db.projects.get(keyOf.project(cmd.organisation_id, cmd.project_name)) as ProjectRecord | undefined;
    if (!project) throw Errors.notFound('project', cmd.project_name);
    projectId = project.id;
  }
  const rec: ApiKeyRecord = {
    id: tx.newId('apikey'),
    name: cmd.name,
    organisation_id: cmd.organisation_id,
    project_name: cmd.project_name,
    project_id: projectId,
    created_at: tx.timestamp(),
    invalidated: false,
    hash: cmd.hash,
  };
  tx.db.apikeys.putSync(keyOf.apiKey(rec.organisation_id, rec.id), rec);
  tx.db.keyHashes.putSync(keyOf.keyHash(rec.hash), keyOf.apiKey(rec.organisation_id, rec.id));
  return rec;
}

export function invalidateApiKey(tx: WriteTxn, cmd: Cmd<'invalidateApiKey'>): object {
  requireOrg(tx, cmd.organisation_id);
  const key = keyOf.apiKey(cmd.organisation_id, cmd.apikey_id);
  const rec = tx.db.apikeys.get(key) as ApiKeyRecord | undefined;
  if (!rec) throw Errors.notFound('api key', cmd.apikey_id);
  if (!rec.invalidated) {
    tx.db.apikeys.putSync(key, { ...rec, invalidated: true });
    tx.markKeysInvalidated();
  }
  return {};
}
