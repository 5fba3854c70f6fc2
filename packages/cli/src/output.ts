import type { CliIo } from './io.js';

/** JSON with bigints as strings, dates as ISO strings. */
export function json(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

/** A column of a {@link table}: its header, and whether it is right-aligned (numbers). */
export interface Column {
  /** The column's title. */
  header: string;
  /** Right-aligned (numbers). @defaultValue false */
  right?: boolean;
}

/** Rows as an aligned table, headers first; the last column is not padded. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        if (i === cells.length - 1 && !columns[i]?.right) return cell;
        return columns[i]?.right ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

/** A number with thousands separators. */
export const number = (n: number | bigint) => n.toLocaleString('en-US');

/** A date as ISO 8601 (UTC, milliseconds), or a dash. */
export const date = (d: Date | number | null | undefined) => (d === null || d === undefined ? '-' : new Date(d).toISOString());

/** Compact JSON, cut at `max` characters for a table cell. */
export function cell(value: unknown, max = 60): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What a command writes: lines on stdout, for people or as JSON. */
export class Output {
  /**
   * @param io - where stdout and stderr go
   * @param asJson - whether `--json` was given
   */
  constructor(
    private readonly io: Required<Pick<CliIo, 'stdout' | 'stderr'>>,
    /** Whether `--json` was given. */
    readonly asJson: boolean,
  ) {}

  /** Prints `value` as JSON with `--json`, else the text `human()` makes. */
  result(value: unknown, human: () => string): void {
    this.io.stdout(`${this.asJson ? json(value) : human()}\n`);
  }

  /** A line on stdout. */
  line(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  /** A note for people on stderr (never with `--json` output on stdout). */
  note(text: string): void {
    this.io.stderr(`${text}\n`);
  }
}
