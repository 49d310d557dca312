// ExportProject (SPEC §9): one read snapshot of the caller's project, handed to the transport as the header record
// and then batches of records it pulls as fast as its client reads them (bounded memory, however large the project).
import { now } from '../clock.js';
import type { ExportLine, ProjectSnapshot } from '../store/export-snapshot.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { EXPORT_FORMAT } from './import-lines.js';
import { projectFields, projectInScope } from './scope.js';
import type { Input } from './validate.js';

export interface ExportHeader {
  type: 'header';
  format: string;
  project_name: string;
  revision: string;
  exported_at: string;
}

/** Records per pull from the snapshot: each transport writes a batch at a time. */
const EXPORT_BATCH = 512;

/** An export in progress: the header, then {@link next} until it gives `[]`; {@link close} however it ends. */
export interface ProjectExport {
  readonly header: ExportHeader;
  /** `permio-revision`: the revision the snapshot reflects. */
  readonly headers: Readonly<Record<string, string>>;
  /** The next batch of records (up to {@link EXPORT_BATCH}); `[]` at the end. */
  next(): ExportLine[];
  close(): void;
}

export async function exportProject(ctx: ServiceContext, caller: Caller, input: Input): Promise<ProjectExport> {
  const fields = projectFields(caller, input);
  const project = projectInScope(ctx, caller, fields);
  const at = now();
  const snapshot: ProjectSnapshot = ctx.reader.projectSnapshot(project.id, at);
  return {
    header: {
      type: 'header',
      format: EXPORT_FORMAT,
      project_name: project.name,
      revision: ctx.tokens.encode(snapshot.revision),
      exported_at: new Date(at).toISOString(),
    },
    headers: ctx.tokens.headers(snapshot.revision),
    next: () => snapshot.next(EXPORT_BATCH),
    close: () => snapshot.close(),
  };
}
