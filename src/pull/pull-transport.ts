/**
 * Pull mode as one transport: the gateway polls the SMEV 3 exchange(s) that
 * pull-mode partners are reached through (src/pull/pull-mode.ts). No routes of
 * its own: nothing calls the gateway. Null when no partner is reached that way.
 */
import type { FlowContext } from '../flows/context.js';
import type { Transport } from '../transport.js';
import { startPullMode } from './pull-mode.js';

export function startPullTransport(ctx: FlowContext): Transport | null {
  const pull = startPullMode(ctx);
  if (!pull) return null;
  return {
    name: 'pull',
    registerRoutes: () => {},
    checks: [
      [
        'exchanges',
        async () => {
          const states = pull.pollers();
          const down = states.filter((p) => p.failures > 0);
          return {
            status: down.length > 0 ? 'warn' : 'pass',
            detail: down.length > 0 ? `${down.length} of ${states.length} pollers cannot reach the exchange: ${down[0]!.lastError}` : `${states.length} pollers`,
            pollers: states.map((p) => ({ name: p.name, delayMs: p.delayMs, failures: p.failures, messages: p.messages })),
          };
        },
      ],
    ],
    stop: () => pull.stop(),
  };
}
