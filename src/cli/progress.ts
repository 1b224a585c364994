// One status line (a progress bar) at the bottom of the terminal, drawn only when stderr is a terminal. Log lines
// go through writeLogLine, which clears the bar first and draws it again after the line, so a log line and the
// bar never overwrite each other. Off a terminal there is no bar at all: the log lines say the same things.

export interface Progress {
  /** Replaces the bar's text. */
  draw(text: string): void;
  /** Removes the bar. */
  done(): void;
}

const CLEAR_LINE = '\r\x1b[2K';

let bar: { stream: NodeJS.WritableStream; text: string } | undefined;

/** Writes one log line (plus a newline) to `stream` without tearing the status bar. */
export function writeLogLine(stream: NodeJS.WritableStream, line: string): void {
  if (!bar) {
    stream.write(`${line}\n`);
    return;
  }
  bar.stream.write(CLEAR_LINE);
  stream.write(`${line}\n`);
  bar.stream.write(bar.text);
}

const silent: Progress = { draw: () => undefined, done: () => undefined };

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silent;
  return {
    draw(text) {
      const width = stream.columns ? Math.max(20, stream.columns - 1) : 120;
      const clipped = text.length > width ? `${text.slice(0, width - 1)}…` : text;
      bar = { stream, text: clipped };
      stream.write(`${CLEAR_LINE}${clipped}`);
    },
    done() {
      if (bar?.stream !== stream) return;
      stream.write(CLEAR_LINE);
      bar = undefined;
    },
  };
}

/** `[billing] staging [#########...............] 3/8 files`. Pure. */
export function progressBar(label: string, done: number, total: number, suffix: string, width = 24): string {
  const filled = total === 0 ? width : Math.min(width, Math.round((done / total) * width));
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${suffix}`;
}
