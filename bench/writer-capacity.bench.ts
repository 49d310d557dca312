// The single writer's own capacity, without HTTP: grant commands through StoreWriter.applyBatch in-process, one group
// commit after another, each transaction committed and fsynced before the next starts (what a 200 waits for).
// The group-commit sizes stand for that many clients writing at once.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stampCommand, type ProjectRef, type WriteCommand } from '../src/store/commands.js';
import { openStore, type Store } from '../src/store/env.js';
import type { OrgRecord, ProjectRecord } from '../src/store/records.js';
import { DEFAULT_PROJECT } from '../src/store/apply/organisations.js';
import { StoreWriter, type WriteResult } from '../src/store/writer.js';
import { int, markdownTable, ms } from './table.js';

const COMMIT_SIZES = [50, 200, 1000];
const PRINCIPALS = 16; // as the REST write load: fresh URIs under 16 principals
/**
 * As the REST write load: autocannon gives each connection its own random id prefix and a counter, so new keys
 * land at one insertion point per connection and principal, not at one end of the B-tree (sequential keys
 * dirty a few pages per commit and ran ~2.5× faster: the commit's page writes and fsync are most of a write).
 */
const CLIENTS = 500;

export interface WriterCapacityRow {
  commandsPerCommit: number;
  grantsPerSec: number;
  commitMs: number;
}

function ok(r: WriteResult | undefined): unknown {
  if (!r?.ok) throw new Error(`writer capacity: ${JSON.stringify(r)}`);
  return r.value;
}

/** A store in `dir` with its writer, one organisation and its default project with permissions `read` and `write`. */
export function openBenchWriter(dir: string): { store: Store; writer: StoreWriter; ref: ProjectRef } {
  const store = openStore(dir, { readOnly: false });
  const writer = new StoreWriter(store);
  const org = ok(writer.applyBatch([stampCommand({ op: 'createOrganisation', name: 'bench', user_id: 'bench', plan: 'enterprise', rate_limit_per_minute: 0 })])[0]) as OrgRecord;
  const project = store.dbs.projects.get([org.id, DEFAULT_PROJECT]) as ProjectRecord;
  const ref: ProjectRef = { organisation_id: org.id, project_name: DEFAULT_PROJECT, project_id: project.id };
  for (const name of ['read', 'write']) ok(writer.applyBatch([stampCommand({ op: 'createPermission', name, description: '', ...ref })])[0]);
  return { store, writer, ref };
}

export function runWriterCapacityBench(secondsPerFigure: number): WriterCapacityRow[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'permio-writer-'));
  const { store, writer, ref } = openBenchWriter(dir);
  try {
    const prefixes = Array.from({ length: CLIENTS }, () => crypto.randomBytes(16).toString('base64url'));
    let n = 0;
    return COMMIT_SIZES.map((size) => {
      let grants = 0;
      let commits = 0;
      const started = performance.now();
      while (performance.now() - started < secondsPerFigure * 1000) {
        const cmds: WriteCommand[] = [];
        const now = Date.now(); // stamped as the main thread would (its cost is not the writer's)
        for (let k = 0; k < size; k++, n++) {
          const user = `writer-${n % PRINCIPALS}`;
          const uri = `/writes/${user}/${prefixes[n % CLIENTS]}/${String(n).padStart(12, '0')}`;
          cmds.push({ op: 'grant', user_id: user, resource_uri: uri, permissions: ['read', 'write'], roles: [], ...ref, now, nonce: n });
        }
        ok(writer.applyBatch(cmds)[0]); // transactionSync: committed and on disk when it returns
        grants += size;
        commits++;
      }
      const elapsed = performance.now() - started;
      return { commandsPerCommit: size, grantsPerSec: (grants / elapsed) * 1000, commitMs: elapsed / commits };
    });
  } finally {
    void store.close().then(() => fs.rmSync(dir, { recursive: true, force: true }));
  }
}

export function formatWriterCapacityRows(rows: readonly WriterCapacityRow[]): string {
  return markdownTable(
    ['grants per group commit', 'durable grants/s', 'ms per commit (apply + commit + fsync)'],
    'rrr',
    rows.map((r) => [int(r.commandsPerCommit), int(r.grantsPerSec), ms(r.commitMs)]),
  );
}
