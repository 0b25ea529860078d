import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strict options; a wrong flag becomes a one-line CliError. */
export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
  usage: string,
): {
  values: ReturnType<
    typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>
  >['values'];
  positionals: string[];
} {
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (err) {
    throw new CliError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

/** A gateway or site id as the configuration schema accepts it. */
export function checkId(value: string | undefined, what: string): string {
  if (!value) throw new CliError(`${what} is required`);
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(value))
    throw new CliError(
      `${what} '${value}': lower-case letters, digits, '-' and '_' (first a letter or digit), at most 63`,
    );
  return value;
}
