// Structured JSON log lines on stdout (one object per line). Never pass secrets.
type Level = 'info' | 'warn' | 'error' | 'debug';

let silent = false;

export function setLogSilent(value: boolean): void {
  silent = value;
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (silent && level !== 'error') return;
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n');
}

export const log = {
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};
