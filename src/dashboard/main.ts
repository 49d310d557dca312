// Entry point of the console (loaded by index.html as a module): replaces the loading line with the app.
import { render } from 'preact';
import { html } from 'htm/preact';
import { App } from './app.js';

const root = document.getElementById('app')!;
root.replaceChildren(); // Preact keeps what it did not render: drop the "Loading" line first
render(html`<${App} />`, root);
