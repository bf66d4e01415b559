/**
 * Errors of the service catalogue. A catalogue that does not load is a
 * configuration mistake, so the loader collects every problem it can find
 * (each naming its file) instead of stopping at the first.
 */
export class CatalogueError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    const head = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`service catalogue: ${head}:\n  ${problems.join('\n  ')}`);
    this.name = 'CatalogueError';
    this.problems = problems;
  }
}

/**
 * A value the mapping engine cannot convert. Content is validated before it is
 * converted, so this means a schema lets through something the mapping cannot
 * carry exactly (e.g. a decimal with more digits than a JSON number holds).
 * `path` is an XML path or a JSON pointer; the message never contains the value.
 */
export class MappingError extends Error {
  readonly path: string;

  constructor(path: string, message: string) {
    super(`${path || '(root)'}: ${message}`);
    this.name = 'MappingError';
    this.path = path;
  }
}
