// Unauthenticated documentation pages: GET /openapi.json and GET /docs (redoc from the installed package, no network).
import fs from 'node:fs';
import { buildOpenApi, docsHtml, DOCS_PATH, DOCS_SCRIPT_PATH, OPENAPI_PATH } from './openapi.js';
import type { StaticPages } from './rest/local-routes.js';

/** The pages, each built on first request and then served from memory. */
export function docsPages(): StaticPages {
  let spec: string | undefined;
  let page: string | undefined;
  let script: string | undefined;
  return {
    [OPENAPI_PATH]: { contentType: 'application/json', body: () => (spec ??= JSON.stringify(buildOpenApi())) },
    [DOCS_PATH]: { contentType: 'text/html; charset=utf-8', body: () => (page ??= docsHtml().html) },
    [DOCS_SCRIPT_PATH]: {
      contentType: 'text/javascript; charset=utf-8',
      body: () => (script ??= fs.readFileSync(docsHtml().scriptPath, 'utf8')),
    },
  };
}
