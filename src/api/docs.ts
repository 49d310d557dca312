// Unauthenticated documentation pages: GET /openapi.json and GET /docs (built from the protos, no network).
import type { StaticPages } from './rest/app.js';

export function docsPages(): StaticPages {
  return {};
}
