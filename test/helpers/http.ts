// A tiny JSON-over-HTTP client for the e2e tests (real fetch, real sockets).

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export function client(baseUrl: string, key?: string) {
  async function call<T = any>(method: string, path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
  return {
    call,
    get: <T = any>(path: string) => call<T>('GET', path),
    post: <T = any>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
    patch: <T = any>(path: string, body?: unknown) => call<T>('PATCH', path, body ?? {}),
    del: <T = any>(path: string, body?: unknown) => call<T>('DELETE', path, body),
  };
}

export type Client = ReturnType<typeof client>;
