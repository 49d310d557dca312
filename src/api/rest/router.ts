// Matches a request path and method against the route table: a route with its path params, or 404 / 405.
import { Errors } from '../../errors.js';
import type { HttpMethod } from '../operations.js';

/** What a route needs to be matched: a method and a path template (`/v1/roles/{role_id}`, `/v1/invitations/{token}:accept`). */
export interface Routable {
  readonly method: HttpMethod;
  readonly path: string;
}

/** A template segment: a literal, or a `{param}` with an optional literal suffix (`{token}:accept`). */
type Segment = { literal: string } | { param: string; suffix: string };

interface CompiledRoute<R> {
  readonly spec: R;
  readonly segments: readonly Segment[];
}

export interface RouteMatch<R> {
  readonly spec: R;
  readonly params: Record<string, string>;
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function compile<R extends Routable>(spec: R): CompiledRoute<R> {
  const segments = spec.path
    .slice(1)
    .split('/')
    .map((s): Segment => {
      const m = /^\{([a-z_]+)\}(.*)$/.exec(s);
      return m ? { param: m[1]!, suffix: m[2]! } : { literal: s };
    });
  return { spec, segments };
}

export class Router<R extends Routable> {
  /** Parameter-free paths (including the hot `/v1/check`) resolve with one Map lookup. */
  private readonly staticRoutes = new Map<string, Map<string, R>>();
  private readonly dynamicRoutes: CompiledRoute<R>[] = [];

  constructor(routes: readonly R[]) {
    for (const spec of routes) {
      if (spec.path.includes('{')) this.dynamicRoutes.push(compile(spec));
      else {
        let byMethod = this.staticRoutes.get(spec.path);
        if (!byMethod) this.staticRoutes.set(spec.path, (byMethod = new Map()));
        byMethod.set(spec.method, spec);
      }
    }
  }

  /** Throws 404 for an unknown path, 405 (with the allowed methods) for a known path and another method. */
  match(method: string, rawPath: string): RouteMatch<R> {
    const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
    const byMethod = this.staticRoutes.get(path);
    if (byMethod !== undefined) {
      const spec = byMethod.get(method);
      if (spec) return { spec, params: NO_PARAMS };
      throw Errors.methodNotAllowed(method, path, [...byMethod.keys()]);
    }
    const parts = path.slice(1).split('/');
    const allowed: HttpMethod[] = [];
    for (const route of this.dynamicRoutes) {
      const params = matchSegments(route.segments, parts);
      if (params === null) continue;
      if (route.spec.method === method) return { spec: route.spec, params };
      allowed.push(route.spec.method);
    }
    if (allowed.length) throw Errors.methodNotAllowed(method, path, allowed);
    throw Errors.routeNotFound(path);
  }
}

function matchSegments(segments: readonly Segment[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const part = parts[i]!;
    if ('literal' in seg) {
      if (seg.literal !== part) return null;
      continue;
    }
    if (!part.endsWith(seg.suffix) || part.length === seg.suffix.length) return null;
    const raw = part.slice(0, part.length - seg.suffix.length);
    try {
      params[seg.param] = decodeURIComponent(raw);
    } catch {
      return null;
    }
  }
  return params;
}
