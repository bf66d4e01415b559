/**
 * What every `okno` command is: a summary for `okno --help`, a usage line, and
 * `run(args) → exit code`. Exit 2 is always a usage error; a command throws
 * UsageError for one and prints it with its usage line.
 */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

/** A usage error: the command prints it with its usage line and exits 2. */
export class UsageError extends Error {}
