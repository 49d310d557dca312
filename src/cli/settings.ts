// The CLI's environment, read once: PERMIO_URL, PERMIO_API_KEY (or ./data/admin.key) and the launcher's GLIBC_TUNABLES.
// The server's own configuration is src/config.ts; nothing here reaches it except through `permio serve`'s child.
import fs from 'node:fs';
import path from 'node:path';

/** The REST URL when neither `--url` nor PERMIO_URL says (SPEC §10). */
export const DEFAULT_URL = 'http://localhost:8080';
/** The key file used when neither `--key` nor PERMIO_API_KEY gives a key: the operator key a local server wrote. */
export const DEFAULT_KEY_FILE = path.join('data', 'admin.key');

export interface CliSettings {
  readonly url: string;
  readonly apiKey: string | undefined;
  /** The whole environment, handed to `permio serve`'s server process. */
  readonly env: Readonly<NodeJS.ProcessEnv>;
}

/** Reads the key file `./data/admin.key` (relative to the working directory) when present. */
function keyFromFile(): string | undefined {
  try {
    return fs.readFileSync(DEFAULT_KEY_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): CliSettings {
  return Object.freeze({
    url: env.PERMIO_URL || DEFAULT_URL,
    get apiKey() {
      return env.PERMIO_API_KEY || keyFromFile();
    },
    env: Object.freeze({ ...env }),
  });
}
