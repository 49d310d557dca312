// A successful answer that carries response headers (REST) / response metadata (gRPC) beside its body.

/**
 * What an operation resolves to when its success carries headers, e.g. `new Answer(body, { 'permio-revision': token })`;
 * an operation without headers resolves to the body itself. Header names are lower-case; REST sends them as
 * response headers, gRPC as metadata (trailing, since rate-limit metadata may already have been sent).
 */
export class Answer<B = unknown> {
  constructor(
    readonly body: B,
    readonly headers: Readonly<Record<string, string>>,
  ) {}
}
