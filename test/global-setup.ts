import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Process-level tests run the compiled gateway (dist/) exactly as `npm start`
 * does, so the suite compiles it once first.
 */
export default function setup(): void {
  const root = path.resolve(import.meta.dirname, '..');
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
