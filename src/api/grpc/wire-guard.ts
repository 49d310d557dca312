// Checks a gRPC request's bytes before they are decoded (SPEC §13): every string field valid UTF-8 (protobufjs would
// turn bad bytes into U+FFFD without a word: two ids into one), a bounded number of fields, no groups.
import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';
import { MAX_REQUEST_DEPTH, MAX_REQUEST_ITEMS } from '../request-bounds.js';

/** Why a message is refused before decoding; `null` also for bytes that do not parse (decoding says so). */
export type WireVerdict = 'not-utf8' | 'too-many-fields' | 'too-deep' | 'group' | null;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_GROUP_START = 3; // proto2 groups: never in our protos, and protobufjs skips them by recursion
const WIRE_GROUP_END = 4;
const WIRE_FIXED32 = 5;

/** A reusable check of `type`'s messages (the protos have no map fields; unknown fields are skipped by length). */
export function wireGuard(type: protobuf.Type): (bytes: Uint8Array) => WireVerdict {
  return (bytes) => {
    const budget = { fields: MAX_REQUEST_ITEMS };
    try {
      return walk(type, bytes, 1, budget);
    } catch {
      return null; // truncated or malformed: the decoder answers it
    }
  };
}

function walk(type: protobuf.Type, bytes: Uint8Array, depth: number, budget: { fields: number }): WireVerdict {
  if (depth > MAX_REQUEST_DEPTH) return 'too-deep';
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    if (--budget.fields < 0) return 'too-many-fields';
    const tag = reader.uint32();
    const wireType = tag & 7;
    if (wireType === WIRE_LENGTH_DELIMITED) {
      const length = reader.uint32();
      const start = reader.pos;
      reader.skip(length);
      const field = type.fieldsById[tag >>> 3];
      if (field === undefined) continue;
      const value = bytes.subarray(start, start + length);
      if (field.type === 'string') {
        if (!isUtf8(value)) return 'not-utf8';
      } else if (field.resolvedType instanceof protobuf.Type) {
        const verdict = walk(field.resolvedType, value, depth + 1, budget);
        if (verdict !== null) return verdict;
      }
    } else if (wireType === WIRE_GROUP_START || wireType === WIRE_GROUP_END) return 'group';
    else if (wireType === WIRE_VARINT || wireType === WIRE_FIXED64 || wireType === WIRE_FIXED32) reader.skipType(wireType);
    else return null; // wire types 6 and 7 do not exist: the decoder refuses them
  }
  return null;
}
