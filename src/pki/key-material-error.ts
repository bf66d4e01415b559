/** A key, certificate or token setting the gateway cannot use: names the variable to fix (exit 78). */
export class KeyMaterialError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'KeyMaterialError';
  }
}
