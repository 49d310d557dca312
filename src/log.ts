// Structured JSON logs (pino), one object per line on stdout. Never pass secrets.
import pino from 'pino';

const logger = pino(
  {
    base: { service: 'permio' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  },
  pino.destination({ fd: 1, sync: true }), // lines are rare (startup, errors): never lose the last one at exit
);

export function setLogLevel(level: 'silent' | 'info' | 'debug'): void {
  logger.level = level;
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => logger.debug(fields ?? {}, msg),
  info: (msg: string, fields?: Record<string, unknown>) => logger.info(fields ?? {}, msg),
  warn: (msg: string, fields?: Record<string, unknown>) => logger.warn(fields ?? {}, msg),
  error: (msg: string, fields?: Record<string, unknown>) => logger.error(fields ?? {}, msg),
};
