// Bearer-key authentication (SPEC §2): hashed lookup, constant-time comparison, and a small cache of valid keys.
import crypto from 'node:crypto';
import { Errors } from '../errors.js';
import { hashSecret } from '../store/keys.js';
import type { StoreReader } from '../store/read.js';
import type { Caller } from './caller.js';

const BEARER = /^Bearer ([^\s]+)$/;
const MAX_CACHED_KEYS = 10_000; // bounded: the cache holds only keys that authenticated
const MAX_KEY_CHARS = 512; // longer strings cannot be our keys; do not hash them

/** API keys are stored and looked up by their hash (as invitation tokens). */
export const hashKey = hashSecret;

const OPERATOR: Caller = Object.freeze({ kind: 'operator', keyId: 'operator', organisationId: undefined, projectName: undefined });

export class Authenticator {
  private readonly adminHash: Buffer;
  private readonly cache = new Map<string, Caller>();

  constructor(
    private readonly reader: StoreReader,
    adminKey: string,
  ) {
    this.adminHash = Buffer.from(hashKey(adminKey), 'hex');
  }

  /** `Bearer <key>` → the caller; anything else, unknown or invalidated keys → 401. */
  authenticate(authorization: string | undefined): Caller {
    const match = authorization === undefined ? null : BEARER.exec(authorization);
    if (match === null) throw Errors.unauthenticated('expected the header "Authorization: Bearer <API key>"');
    const secret = match[1]!;
    const cached = this.cache.get(secret);
    if (cached !== undefined) return cached;
    if (secret.length > MAX_KEY_CHARS) throw Errors.unauthenticated('unknown API key');

    const hash = hashKey(secret);
    const digest = Buffer.from(hash, 'hex');
    if (crypto.timingSafeEqual(digest, this.adminHash)) return this.remember(secret, OPERATOR);
    const rec = this.reader.apiKeyByHash(hash);
    if (rec === undefined || !crypto.timingSafeEqual(Buffer.from(rec.hash, 'hex'), digest)) {
      throw Errors.unauthenticated('unknown API key');
    }
    if (rec.invalidated) throw Errors.unauthenticated('the API key has been invalidated');
    return this.remember(secret, {
      kind: rec.project_name ? 'project' : 'organisation',
      keyId: rec.id,
      organisationId: rec.organisation_id,
      projectName: rec.project_name || undefined,
    });
  }

  /** Drops every cached key (after keys are invalidated or projects deleted). */
  forget(): void {
    this.cache.clear();
  }

  private remember(secret: string, caller: Caller): Caller {
    if (this.cache.size >= MAX_CACHED_KEYS) this.cache.clear();
    this.cache.set(secret, caller);
    return caller;
  }
}
