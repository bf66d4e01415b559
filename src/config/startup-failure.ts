/**
 * How a start-up failure reaches the operator: ONE line on stderr that names
 * the variable to fix (and the file, where there is one), exit code 78.
 * Loaders keep their own errors (used by reloads and tests too); at start-up
 * their message is prefixed with the variable that led to them (`naming`) and
 * folded onto one line (`failureLine`).
 */
import { ConfigError } from './env.js';

/** A loader's error, prefixed with the variable whose value it read. */
export class SettingError extends Error {
  constructor(
    readonly variable: string,
    cause: unknown,
  ) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(message.startsWith(`${variable}:`) || message.startsWith(`${variable} `) ? message : `${variable}: ${message}`, { cause });
    this.name = cause instanceof Error ? cause.name : 'SettingError';
  }
}

/** Runs a loader; its error becomes a SettingError naming `variable`. */
export function naming<T>(variable: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    throw new SettingError(variable, error);
  }
}

/** The same for an asynchronous step (e.g. connecting to REDIS_URL). */
export async function namingAsync<T>(variable: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new SettingError(variable, error);
  }
}

/**
 * A multi-line message (a head and `  - item` lines) on one line: `head item; item`.
 * Problems that each name their variable (ConfigError, StartupError) are joined with `; `.
 */
export function oneLine(message: string): string {
  const [head = '', ...rest] = message
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/^- /, ''))
    .filter(Boolean);
  return rest.length === 0 ? head : `${head} ${rest.join('; ')}`;
}

/** Problems found while assembling the gateway (after the configuration was read): each names its variable. */
export class StartupError extends Error {
  constructor(readonly problems: string[]) {
    super(`refusing to start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'StartupError';
  }
}

/** The stderr line for a failure at start-up (without the `okno: ` prefix). */
export function failureLine(error: unknown): string {
  if (error instanceof ConfigError || error instanceof StartupError) return error.problems.map(oneLine).join('; ');
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}
