// The write log's payload encoding: plain MessagePack maps (no msgpackr records), readable by any node and any version.
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false });

/** Encodes one log payload into a fresh buffer (the NATS client keeps it until the publish is written). */
export function packEntry(value: unknown): Uint8Array {
  return new Uint8Array(packr.pack(value)); // copy out of packr's reused buffer
}

export function unpackEntry<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
