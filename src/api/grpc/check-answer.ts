// Check answers for gRPC, encoded once per answer text: a repeated check (served from the answer cache) gets the
// very same JSON string back, which maps to the protobuf bytes already encoded for it, skipping parse and encode.

/** Characters of answer text kept with their encodings; past this, every encoding is dropped. */
const MAX_CHARS = 8 * 1024 * 1024;

export class EncodedAnswers {
  private bytes = new Map<string, Buffer>();
  private chars = 0;

  /** @param encode the Check response serializer (a JSON-shaped object → protobuf bytes). */
  constructor(private readonly encode: (value: object) => Buffer) {}

  /** The protobuf encoding of the check answer `json` (a CheckResponse as JSON text). */
  of(json: string): Buffer {
    let encoded = this.bytes.get(json); // the same string as last time: found by identity, its hash cached
    if (encoded === undefined) {
      encoded = this.encode(JSON.parse(json) as object);
      this.chars += json.length;
      if (this.chars > MAX_CHARS) {
        this.bytes = new Map();
        this.chars = json.length;
      }
      this.bytes.set(json, encoded);
    }
    return encoded;
  }
}

/** Wraps a response serializer so that bytes already encoded (by {@link EncodedAnswers}) pass through. */
export function passEncoded(serialize: (value: object) => Buffer): (value: object) => Buffer {
  return (value) => (Buffer.isBuffer(value) ? value : serialize(value));
}
