/**
 * `okno <command>`: the command line. Each command is a small module with
 * `run(args) → exit code`; exit 2 is always a usage error.
 */
import { catalogueCommand } from './catalogue-command.js';
import { certsCommand } from './certs-command.js';
import { journalCommand } from './journal-command.js';
import { pollCommand } from './poll-command.js';
import { sendCommand } from './send-command.js';
import { signCommand } from './sign-command.js';
import { signFileCommand } from './sign-file-command.js';
import { simulateCommand } from './simulate-command.js';
import { verifyCommand } from './verify-command.js';
import type { Command } from './command.js';
import { verifyFileCommand } from './verify-file-command.js';
import { helpFor, packageVersion, wantsHelp } from './help.js';

const commands: Record<string, Command> = {
  certs: certsCommand,
  sign: signCommand,
  verify: verifyCommand,
  'verify-file': verifyFileCommand,
  'sign-file': signFileCommand,
  send: sendCommand,
  poll: pollCommand,
  simulate: simulateCommand,
  journal: journalCommand,
  catalogue: catalogueCommand,
};

export function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(11)} ${c.summary}`);
  return [
    'usage: okno <command> [options]',
    '       okno <command> --help     the command\'s usage and options',
    '       okno --version',
    '',
    'commands:',
    ...lines,
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`okno ${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`okno: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // okno catalogue answers --help itself (per subcommand); the others from src/cli/help.ts.
  if (name !== 'catalogue' && wantsHelp(args)) {
    const help = helpFor(name, args);
    if (help) {
      process.stdout.write(help);
      return 0;
    }
  }
  return command.run(args);
}
