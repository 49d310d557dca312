// ImportProject (SPEC §9) as a session the transports feed line by line: each line is validated as it arrives, lines
// are staged through the writer in bounded chunks (in cluster mode each chunk is one log message), and `finish`
// commits them all in one transaction — so nothing of a file with a bad line is applied, and no file sits in memory.
import { now } from '../clock.js';
import { Errors, PermioError } from '../errors.js';
import type { ImportLine, ImportMode } from '../store/commands.js';
import type { ProjectRecord } from '../store/records.js';
import { log } from '../log.js';
import { Answer } from './answer.js';
import type { Caller } from './caller.js';
import type { ServiceContext } from './context.js';
import { badLine, importLine } from './import-lines.js';
import { projectFields, projectInScope } from './scope.js';
import { optionalString, type Input } from './validate.js';
import crypto from 'node:crypto';

/** Lines per staging command, and their rough size: a chunk stays far below a log message's limit (NATS: 1 MiB). */
const STAGE_LINES = 8000;
const STAGE_BYTES = 512 * 1024;
/** Staging commands in flight at once; past it the transport stops reading (backpressure) until one is durable. */
const STAGES_IN_FLIGHT = 4;
/** Staged chunks removed per discard command when an import is given up (each a short transaction). */
const DISCARD_BATCH = 64;
/** Longest line accepted (a record is small; this bounds what one line may make the server hold). */
export const MAX_IMPORT_LINE_BYTES = 1024 * 1024;

const IMPORT_ID_BYTES = 12;

/** Lines of each type, as the answer reports them. */
interface Counts {
  permissions: number;
  roles: number;
  grants: number;
}

/** Opens an import into the caller's project: scope checked (403, 404) before a byte of the body is taken. */
export async function importProject(ctx: ServiceContext, caller: Caller, input: Input): Promise<ImportSession> {
  const fields = projectFields(caller, input);
  const mode = optionalString(input, 'mode') || 'merge';
  if (mode !== 'merge' && mode !== 'replace') throw Errors.invalidField('mode', "must be 'merge' or 'replace'");
  const project = projectInScope(ctx, caller, fields);
  return new ImportSession(ctx, project, mode);
}

/**
 * One import in progress. Transports call {@link line} (raw text, REST) or {@link record} (decoded, gRPC) with the
 * physical line number, wait on {@link ready} when it is a promise, and end with {@link finish} or {@link abort}.
 * `line` and `record` throw the 400 of a bad line; after any error the session is dead and its staged lines are dropped.
 */
export class ImportSession {
  readonly importId = crypto.randomBytes(IMPORT_ID_BYTES).toString('base64url');
  private readonly counts: Counts = { permissions: 0, roles: 0, grants: 0 };
  private readonly definedAt = { permission: new Map<string, number>(), role: new Map<string, number>() };
  private chunk: ImportLine[] = [];
  private chunkBytes = 0;
  private records = 0;
  private chunks = 0;
  private staged = false;
  private inFlight = 0;
  private failure: PermioError | undefined;
  private waiting: (() => void) | undefined;
  private stages: Promise<void>[] = [];
  private ended = false;
  /** When windows are judged (SPEC §8): the import's start, so a file's verdict does not depend on how fast it arrives. */
  private readonly startedAt = now();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly project: ProjectRecord,
    private readonly mode: ImportMode,
  ) {}

  /** Resolves when the next line may be given; undefined when it may at once. */
  ready(): Promise<void> | undefined {
    if (this.inFlight < STAGES_IN_FLIGHT || this.failure !== undefined) return undefined;
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** One physical line of NDJSON text (without its newline); blank lines are skipped but counted. */
  line(text: string, line: number): void {
    if (text.length > MAX_IMPORT_LINE_BYTES) this.fail(badLine(line, `longer than ${MAX_IMPORT_LINE_BYTES} bytes`));
    let trimmed = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13) {
        trimmed = true;
        break;
      }
    }
    if (!trimmed) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.fail(badLine(line, 'not valid JSON'));
    }
    this.record(value, line, text.length);
  }

  /** One decoded record and its line number. */
  record(value: unknown, line: number, bytes = 256): void {
    if (this.failure) throw this.failure;
    let parsed: ImportLine | 'header';
    try {
      parsed = importLine(value, line, this.records === 0, this.startedAt);
    } catch (e) {
      this.fail(e as PermioError);
    }
    this.records++;
    if (parsed === 'header') return;
    if (parsed.type !== 'grant') {
      const seen = this.definedAt[parsed.type];
      const earlier = seen.get(parsed.name);
      if (earlier !== undefined) this.fail(badLine(line, `${parsed.type} '${parsed.name}' is already defined on line ${earlier}`));
      seen.set(parsed.name, line);
    }
    this.counts[parsed.type === 'permission' ? 'permissions' : parsed.type === 'role' ? 'roles' : 'grants']++;
    this.chunk.push(parsed);
    this.chunkBytes += bytes;
    if (this.chunk.length >= STAGE_LINES || this.chunkBytes >= STAGE_BYTES) this.stage();
  }

  /** Commits every staged line in one step; resolves once durable, to `{imported}` with the commit's revision. */
  async finish(): Promise<Answer> {
    if (this.failure) throw this.failure;
    this.stage();
    try {
      await Promise.all(this.stages);
      if (this.failure) throw this.failure;
      const answer = await this.ctx.write({ op: 'importCommit', import_id: this.importId, mode: this.mode, ...this.ref() }, () => ({
        imported: { ...this.counts },
      }));
      this.ended = true; // the commit dropped the staged chunks
      return answer;
    } catch (e) {
      this.abort(e as PermioError);
      throw e;
    }
  }

  /** Gives up: staged lines are dropped (in the background); later calls throw `err`. */
  abort(err: PermioError = Errors.badRequest('Invalid import: the upload ended early')): void {
    this.failure ??= err;
    this.waiting?.();
    if (this.ended) return;
    this.ended = true;
    void Promise.allSettled(this.stages).then(() => this.discard());
  }

  private fail(err: PermioError): never {
    this.abort(err);
    throw err;
  }

  private ref() {
    return { organisation_id: this.project.organisation_id, project_name: this.project.name, project_id: this.project.id };
  }

  private stage(): void {
    if (this.chunk.length === 0) return;
    const lines = this.chunk;
    this.chunk = [];
    this.chunkBytes = 0;
    this.staged = true;
    this.inFlight++;
    const done = this.ctx.writer.write({ op: 'importStage', import_id: this.importId, chunk: ++this.chunks, lines, ...this.ref() }).then(
      () => {},
      (err: unknown) => {
        this.failure ??= err instanceof PermioError ? err : Errors.internal();
      },
    );
    this.stages.push(
      done.finally(() => {
        this.inFlight--;
        const w = this.waiting;
        this.waiting = undefined;
        w?.();
      }),
    );
  }

  /** Drops the staged chunks a batch per command, in the background (nothing waits for it). */
  private discard(): void {
    if (!this.staged) return;
    const step = (): Promise<void> =>
      this.ctx.writer.write({ op: 'importDiscard', import_id: this.importId, limit: DISCARD_BATCH }).then((c) => {
        if (!(c.value as { done: boolean }).done) return step();
      });
    step().catch((err: unknown) => log.warn('import: staged lines not dropped yet (dropped once stale)', { error: String(err) }));
  }
}
