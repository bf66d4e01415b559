/**
 * How a foreground command (`okno simulate …`) learns it should stop: SIGINT
 * (Ctrl-C), SIGTERM, or — when it runs under npm (`npx okno …`, `npm run …`,
 * which start it through `sh -c`) — its parent going away. A signal sent to
 * the `npx` process itself is not passed on: npm kills the shell in between
 * and exits, and node would be left bound to its port, re-parented. So under
 * npm the parent is watched, and a changed parent process id stops the
 * command as a signal would. Outside npm the parent is not watched
 * (`okno simulate smev &` in a script keeps running after the script).
 *
 * A second SIGINT/SIGTERM while stopping exits at once (130 / 143).
 */

export type StopReason = 'SIGINT' | 'SIGTERM' | 'parent exited';

export interface UntilStoppedOptions {
  /** Watch the parent process (default: when started by npm, i.e. npm_command is set). */
  watchParent?: boolean;
  /** How often the parent is checked (ms). */
  parentCheckMs?: number;
}

export function startedByNpm(env: NodeJS.ProcessEnv = process.env): boolean {
  return typeof env.npm_command === 'string' && env.npm_command !== '';
}

export function untilStopped(options: UntilStoppedOptions = {}): Promise<StopReason> {
  const watchParent = options.watchParent ?? startedByNpm();
  const parent = process.ppid;
  return new Promise<StopReason>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const stop = (reason: StopReason) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      if (timer) clearInterval(timer);
      // stopping: a second signal means "now"
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(reason);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (watchParent) {
      timer = setInterval(() => {
        if (process.ppid !== parent) stop('parent exited');
      }, options.parentCheckMs ?? 500);
      timer.unref();
    }
  });
}
