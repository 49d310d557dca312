// Cluster revisions: derived from the log's stream sequence, so every node gives a command the same one.
//
// One log entry carries one group commit (up to COMMANDS_PER_ENTRY commands); command i of the entry at stream
// sequence s gets revision s × COMMANDS_PER_ENTRY + i. Revisions increase with the log and need not be consecutive
// (SPEC §7), and the entry a revision belongs to is its quotient. 2^53 / 2^10 leaves 8.8e12 entries.

/** The most commands one entry carries (a larger group commit is published as several entries). */
export const COMMANDS_PER_ENTRY = 1024;

/** The revision of command `index` of the entry at sequence `seq`. */
export function revisionOf(seq: number, index: number): number {
  return seq * COMMANDS_PER_ENTRY + index;
}

/** The sequence of the entry that revision `revision` belongs to (0: before the first entry). */
export function seqOfRevision(revision: number): number {
  return Math.floor(revision / COMMANDS_PER_ENTRY);
}
