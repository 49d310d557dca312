// Revision tokens (SPEC §7): the wire form of a revision, made and read only here. `base36(revision)_tag`, where the
// tag is 8 characters of sha256(store id, revision): a string this store never issued is refused, and tokens survive
// a restart or a backup (the store id lives in LMDB; every node of a cluster shares one).
import crypto from 'node:crypto';
import { Errors } from '../errors.js';

/** SPEC §7: what a token looks like on the wire (anything else is malformed). */
const TOKEN_CHARS = /^[A-Za-z0-9_-]{1,64}$/;
/** What this server issues: the revision in base36 (no leading zero), `_`, the tag. */
const ISSUED_SHAPE = /^([1-9a-z][0-9a-z]{0,10})_([A-Za-z0-9_-]{8})$/;
const TAG_CHARS = 8;
const HEADER = 'permio-revision';

/** Response headers (REST) / metadata (gRPC) naming the revision an answer reflects. */
export type RevisionHeaders = Readonly<Record<typeof HEADER, string>>;

export class RevisionTokens {
  private lastRevision = -1;
  private lastHeaders: RevisionHeaders = { [HEADER]: '' };

  /** @param storeId the store's id (cluster mode: the id all nodes share). */
  constructor(private readonly storeId: string) {}

  private tag(revision: number): string {
    return crypto.createHash('sha256').update(`${this.storeId}:${revision}`).digest('base64url').slice(0, TAG_CHARS);
  }

  /** The token of `revision`. */
  encode(revision: number): string {
    return revision === this.lastRevision ? this.lastHeaders[HEADER] : `${revision.toString(36)}_${this.tag(revision)}`;
  }

  /** `{ 'permio-revision': token }`; the last one is kept, so answers at an unchanged revision share it (no hash per check). */
  headers(revision: number): RevisionHeaders {
    if (revision !== this.lastRevision) {
      this.lastHeaders = Object.freeze({ [HEADER]: this.encode(revision) });
      this.lastRevision = revision;
    }
    return this.lastHeaders;
  }

  /** The revision `token` names; 400 naming `field` when it is malformed or was not issued by this store. */
  decode(field: string, token: unknown): number {
    if (typeof token !== 'string' || !TOKEN_CHARS.test(token)) {
      throw Errors.invalidField(field, 'must be a revision token: 1–64 characters of [A-Za-z0-9_-]');
    }
    const m = ISSUED_SHAPE.exec(token);
    const revision = m === null ? NaN : parseInt(m[1]!, 36);
    if (!Number.isSafeInteger(revision) || m![2] !== this.tag(revision)) throw notIssued(field);
    return revision;
  }
}

/** A well-formed token this server never issued (single node: also one ahead of every revision it applied). */
export function notIssued(field: string) {
  return Errors.invalidField(field, 'is not a revision token this server issued');
}
