import { spawnSync } from 'node:child_process';

/**
 * Asserts an external tool is installed. Tests that need one never skip
 * silently: without it they fail, saying how to install it (CI installs them
 * in .ci/run).
 */
export function requireTool(command: string, args: string[], aptPackage: string): void {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  if (result.error || result.status !== 0) {
    throw new Error(`this test needs ${command} (apt-get install -y ${aptPackage})`);
  }
}
