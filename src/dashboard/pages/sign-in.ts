// Sign-in: one field, the API key (operator or organisation key), checked against the API before it is kept.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiError, errorText } from '../api.js';
import { signIn, type Identity } from '../session.js';
import { useAction, valueOf } from '../ui.js';

/** What a failed sign-in says; a wrong key is named as such, with the API's 401 message. */
function signInError(err: unknown): string {
  if (err instanceof ApiError && err.status === 401) return `Invalid API key (${errorText(err)})`;
  return `Sign-in failed: ${errorText(err)}`;
}

export function SignIn({ onSignedIn, restoreError }: { onSignedIn: (id: Identity) => void; restoreError: unknown }) {
  const [key, setKey] = useState('');
  const { busy, error, run } = useAction();
  const shown = error ?? restoreError;
  const submit = (e: Event) => {
    e.preventDefault();
    void run(async () => onSignedIn(await signIn(key.trim())));
  };
  return html`
    <main class="sign-in" id="main">
      <h1>Permio console</h1>
      <p class="muted">Sign in with the operator key or an organisation key. The key stays in this tab only.</p>
      <form onSubmit=${submit}>
        <label for="api-key">API key</label>
        <input id="api-key" class="secret" type="text" autocomplete="off" autocapitalize="off" spellcheck=${false}
          required value=${key} onInput=${(e: Event) => setKey(valueOf(e))} />
        <button type="submit" disabled=${busy}>Sign in</button>
      </form>
      ${shown !== undefined && html`<p role="alert" class="error">${signInError(shown)}</p>`}
    </main>
  `;
}
