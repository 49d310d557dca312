// Progress on stderr for export, import and backup — only when stderr is a terminal, so pipes and logs stay clean.
import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the amount done (records or bytes). */
  update(done: number): void;
  stop(): void;
}

const SILENT: Progress = { update: () => {}, stop: () => {} };

/**
 * A bar over `total` units (bytes of a file, say) or, without a total, a running count; `unit` names what is counted.
 */
export function progress(label: string, unit: string, total?: number): Progress {
  if (!process.stderr.isTTY) return SILENT;
  const format =
    total === undefined ? `${label} {value} ${unit} | {duration_formatted}` : `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}`;
  const bar = new cliProgress.SingleBar({ format, stream: process.stderr, clearOnComplete: false, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(total ?? 0, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
