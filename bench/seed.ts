// Seeds a running server over REST with a benchmark dataset: one project, permissions, roles and many grants.
export interface Dataset {
  organisationId: string;
  project: string;
  key: string;
  principal: string;
  uris: string[];
  permissions: string[];
}

const PERMISSIONS = 20;
const PRINCIPALS = 500;
const GRANTS_PER_PRINCIPAL = 10;
const CONCURRENCY = 64;

async function call(base: string, key: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Runs `tasks` with at most `limit` in flight (so writes group-commit). */
export async function inParallel(tasks: (() => Promise<unknown>)[], limit = CONCURRENCY): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

export async function seedDataset(base: string, adminKey: string): Promise<Dataset> {
  const { organisation } = await call(base, adminKey, 'POST', '/v1/organisations', { name: 'bench', user_id: 'bench-admin' });
  const orgId = organisation.id as string;
  const { api_key } = await call(base, adminKey, 'POST', `/v1/organisations/${orgId}/apikeys`, { name: 'bench' });
  const key = api_key.key as string;
  const project = 'default';
  const permissions = Array.from({ length: PERMISSIONS }, (_, i) => `doc.action${i}`);
  await inParallel(permissions.map((name) => () => call(base, key, 'POST', '/v1/permissions', { project_name: project, name })));
  await call(base, key, 'POST', '/v1/roles', { project_name: project, name: 'editor', permissions: [] });

  const tasks: (() => Promise<unknown>)[] = [];
  for (let u = 0; u < PRINCIPALS; u++) {
    for (let g = 0; g < GRANTS_PER_PRINCIPAL; g++) {
      tasks.push(() =>
        call(base, key, 'POST', '/v1/grants', {
          project_name: project,
          user_id: `user-${u}`,
          resource_uri: `/tenants/t${u % 50}/folders/f${g}`,
          permissions: permissions.slice(0, 1 + ((u + g) % PERMISSIONS)),
        }),
      );
    }
  }
  // The measured principal holds everything on its tenant: checks pass after one or two segments.
  tasks.push(() => call(base, key, 'POST', '/v1/grants', { project_name: project, user_id: 'bench-user', resource_uri: '/tenants/t1', permissions }));
  await inParallel(tasks);
  const uris = Array.from({ length: 100 }, (_, i) => `/tenants/t1/folders/f${i % 10}/docs/d${i}`);
  return { organisationId: orgId, project, key, principal: 'bench-user', uris, permissions };
}
