// msgpackr framing for messages between threads: pack into an exact-size buffer that can be transferred.
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false });

/** Packs `value` into a fresh Uint8Array that owns its ArrayBuffer (so it can be transferred, not cloned). */
export function packForTransfer(value: unknown): Uint8Array<ArrayBuffer> {
  const packed = packr.pack(value); // a view into packr's reused buffer
  return new Uint8Array(packed); // one exact-size copy
}

export function unpack<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
