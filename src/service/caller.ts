// Who is calling: the authenticated API key and the scope it may act in (SPEC §2).

export type KeyKind = 'operator' | 'organisation' | 'project';

/** The result of authenticating a `Bearer` key; passed to every operation. */
export interface Caller {
  readonly kind: KeyKind;
  /** `apikey_…` id, or `operator` for PERMIO_ADMIN_KEY. */
  readonly keyId: string;
  /** The key's organisation; undefined for the operator key. */
  readonly organisationId: string | undefined;
  /** The key's project name; set only for project keys. */
  readonly projectName: string | undefined;
}
