import { createInterface } from 'node:readline';

/**
 * What a CLI command talks to: output lines, stdin, a terminal prompt. main.ts binds it to the
 * process; tests pass their own (captured lines, a piped password).
 */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** all of stdin (a piped password, a config) */
  readStdin(): Promise<string>;
  /** one line from the terminal; hidden: no echo (passwords) */
  prompt(question: string, options?: { hidden?: boolean }): Promise<string>;
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  /** wall clock (backup names, manifest times) */
  now(): Date;
}

/** A refusal the CLI prints as one line (no stack) and exits with (2: usage or input). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function processIo(): CliIo {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    prompt: (question, options = {}) =>
      new Promise((resolve) => {
        const rl = createInterface({
          input: process.stdin,
          output: process.stderr,
          terminal: true,
        });
        if (options.hidden) {
          // readline echoes through _writeToOutput: print the question only
          const out = rl as unknown as { _writeToOutput: (s: string) => void };
          let asked = false;
          out._writeToOutput = (s: string) => {
            if (!asked) process.stderr.write(s);
            asked = true;
          };
        }
        rl.question(question, (answer) => {
          rl.close();
          if (options.hidden) process.stderr.write('\n');
          resolve(answer);
        });
      }),
    isTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    now: () => new Date(),
  };
}

/** Captured io for tests and in-process use. */
export function memoryIo(
  o: { stdin?: string; env?: NodeJS.ProcessEnv; now?: () => Date } = {},
): CliIo & {
  lines: string[];
  errors: string[];
} {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (line) => lines.push(line),
    err: (line) => errors.push(line),
    readStdin: () => Promise.resolve(o.stdin ?? ''),
    prompt: () => Promise.reject(new CliError('no terminal')),
    isTTY: false,
    env: o.env ?? {},
    now: o.now ?? (() => new Date()),
  };
}
