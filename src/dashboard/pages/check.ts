// The check playground: one principal, resources × permissions, the verdict and, per pair, why (SPEC §4, §8).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiError, errorText, projectQuery, type CheckAnswer, type Explanation, type Source } from '../api.js';
import { ErrorAlert, formatTime, useAction, valueOf, type PageProps } from '../ui.js';

const MAX_EXPLAIN_PAIRS = 1000; // SPEC §8: ExplainCheck answers at most this many pairs; larger requests are only checked
const NO_ROUTE = [404, 405];

/** The verdict, and `why` it carries no explanations when it does not. */
interface Answer {
  readonly check: CheckAnswer;
  readonly why?: string;
}

export function Check({ api, scope }: PageProps) {
  const [principal, setPrincipal] = useState('');
  const [resources, setResources] = useState('');
  const [permissions, setPermissions] = useState('');
  const [answer, setAnswer] = useState<Answer | undefined>(undefined);
  const action = useAction();

  const check = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      setAnswer(undefined);
      const request = {
        ...projectQuery(scope),
        principal_id: principal,
        resource_uris: resources.split('\n').map((s) => s.trim()).filter((s) => s !== ''),
        permissions: permissions.split(',').map((s) => s.trim()).filter((s) => s !== ''),
      };
      if (request.resource_uris.length * request.permissions.length > MAX_EXPLAIN_PAIRS) {
        return setAnswer({ check: await api.post<CheckAnswer>('/v1/check', request), why: `Explanations are given for at most ${MAX_EXPLAIN_PAIRS} pairs.` });
      }
      try {
        setAnswer({ check: await api.post<CheckAnswer>('/v1/explain', request) });
      } catch (err) {
        if (!(err instanceof ApiError && NO_ROUTE.includes(err.status) && err.message.includes('/v1/explain'))) throw err;
        // a server without ExplainCheck (SPEC §8): the verdict still, and why there is no explanation
        setAnswer({ check: await api.post<CheckAnswer>('/v1/check', request), why: `No explanations: POST /v1/explain answered ${errorText(err)}` });
      }
    });
  };

  return html`
    <h1>Check</h1>
    <form class="stacked" onSubmit=${check} aria-label="Check request">
      <div class="row">
        <div><label for="check-principal">Principal</label>
          <input id="check-principal" required placeholder="user_1234" value=${principal} onInput=${(e: Event) => setPrincipal(valueOf(e))} /></div>
        <div class="wide"><label for="check-permissions">Permissions</label>
          <input id="check-permissions" required placeholder="document.read, document.write" aria-describedby="check-permissions-hint"
            value=${permissions} onInput=${(e: Event) => setPermissions(valueOf(e))} />
          <small id="check-permissions-hint" class="muted">comma-separated names</small></div>
      </div>
      <div><label for="check-resources">Resources</label>
        <textarea id="check-resources" required rows="4" placeholder="/documents/1234" aria-describedby="check-resources-hint"
          value=${resources} onInput=${(e: Event) => setResources(valueOf(e))}></textarea>
        <small id="check-resources-hint" class="muted">one resource URI a line</small></div>
      <div><button type="submit" disabled=${action.busy}>Check</button></div>
    </form>
    <${ErrorAlert} error=${action.error} />
    ${answer !== undefined && html`<${Verdict} answer=${answer} />`}
  `;
}

/** `Allowed` / `Denied` (the only place those words appear), what is missing, and each pair's sources. */
function Verdict({ answer: { check: answer, why } }: { answer: Answer }) {
  return html`
    <section class="result" aria-labelledby="verdict">
      <p id="verdict" role="status" class=${answer.passed ? 'verdict pass' : 'verdict fail'}>${answer.passed ? 'Allowed' : 'Denied'}</p>
      ${answer.missing_permissions.length > 0 && html`
        <h2>Missing</h2>
        <ul class="missing">
          ${answer.missing_permissions.map(
            (m) => html`<li key=${m.resource_uri}><code>${m.resource_uri}</code>: ${m.missing_permissions.join(', ')}</li>`,
          )}
        </ul>`}
      ${answer.explanations === undefined
        ? html`<p role="note" class="muted">${why ?? 'The server sent no explanations.'}</p>`
        : html`
          <h2>Explanation</h2>
          <table>
            <caption>Why each pair is granted or not</caption>
            <thead><tr><th scope="col">Resource</th><th scope="col">Permission</th><th scope="col">Result</th><th scope="col">Granted by</th></tr></thead>
            <tbody>
              ${answer.explanations.map(
                (x: Explanation) => html`<tr key=${`${x.resource_uri} ${x.permission}`}>
                  <td><code>${x.resource_uri}</code></td><td>${x.permission}</td>
                  <td>${x.allowed ? 'granted' : 'not granted'}</td>
                  <td>${x.sources.length === 0 ? 'no grant supplies it' : html`<ul class="sources">${x.sources.map((s) => html`<li>${sourceText(s)}</li>`)}</ul>`}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}
    </section>
  `;
}

/** `role Editor on /teams until 2030-01-01 00:00:00 UTC`, or `direct grant on /teams/eng`. */
function sourceText(s: Source): string {
  const what = s.role === null ? 'direct grant' : `role ${s.role.name}`;
  const from = s.starts_at ? ` from ${formatTime(s.starts_at)}` : '';
  const until = s.expires_at ? ` until ${formatTime(s.expires_at)}` : '';
  return `${what} on ${s.resource_uri}${from}${until}`;
}
