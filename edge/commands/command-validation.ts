import AjvModule, { type ValidateFunction } from 'ajv';
import { toIssues } from '../../config/loader.js';
import { EdgeError } from '../errors.js';
import { COMMAND_ARGS, CommandRequestSchema, type CommandRequest } from './schemas.js';

const Ajv = AjvModule.default;

/**
 * A platform command checked before it runs: the envelope (TypeBox schema via Ajv, every error
 * listed with its path), the command name, its expiry, its arguments (defaults filled in).
 * Every refusal is an EdgeError the router turns into an error reply.
 */
export class CommandValidator {
  private readonly ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: false,
    validateFormats: false,
    code: { optimize: false }, // faster compile at start-up; a command is validated once
  });
  private readonly validateRequest: ValidateFunction;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor() {
    this.validateRequest = this.ajv.compile(CommandRequestSchema);
    for (const [name, schema] of Object.entries(COMMAND_ARGS)) {
      this.validators.set(name, this.ajv.compile(schema));
    }
  }

  knows(name: string): boolean {
    return this.validators.has(name);
  }

  /** The request envelope from an MQTT payload. */
  parse(payload: Buffer): CommandRequest {
    let doc: unknown;
    try {
      doc = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      throw new EdgeError('EDGE_COMMAND_INVALID', `command is not JSON: ${(err as Error).message}`);
    }
    return this.request(doc);
  }

  /** The request envelope from an already parsed document. */
  request(doc: unknown): CommandRequest {
    if (!this.validateRequest(doc)) {
      const issues = toIssues(this.validateRequest.errors ?? [], '');
      throw new EdgeError('EDGE_COMMAND_INVALID', describe(issues), { details: issues });
    }
    return doc as CommandRequest;
  }

  /** The arguments of a known, unexpired command, validated, with defaults filled in. */
  args(name: string, req: CommandRequest, nowWallMs: number): Record<string, unknown> {
    if (!this.validators.has(name)) throw this.unknown(name);
    this.checkExpiry(req, nowWallMs);
    return this.validateArgs(name, structuredClone(req.args ?? {}));
  }

  /**
   * Arguments of a known command validated in place, defaults filled in (no expiry check): the
   * large-command worker validates a freshly parsed document it owns (large-command-worker.ts).
   */
  validateArgs(name: string, args: Record<string, unknown>): Record<string, unknown> {
    const validate = this.validators.get(name);
    if (!validate) throw this.unknown(name);
    if (!validate(args)) {
      const issues = toIssues(validate.errors ?? [], '/args');
      throw new EdgeError('EDGE_COMMAND_INVALID', describe(issues), { details: issues });
    }
    return args;
  }

  private unknown(name: string): EdgeError {
    return new EdgeError(
      'EDGE_COMMAND_UNKNOWN',
      `unknown command '${name}' (known: ${[...this.validators.keys()].join(', ')})`,
    );
  }

  /** EDGE_COMMAND_EXPIRED when the request's own expiresAt is past. */
  checkExpiry(req: CommandRequest, nowWallMs: number): void {
    if (req.expiresAt === undefined) return;
    const expires = Date.parse(req.expiresAt);
    if (Number.isNaN(expires)) {
      throw new EdgeError('EDGE_COMMAND_INVALID', '/expiresAt: must be an ISO date-time');
    }
    if (expires < nowWallMs) {
      throw new EdgeError('EDGE_COMMAND_EXPIRED', `command expired at ${req.expiresAt}`);
    }
  }
}

function describe(issues: Array<{ path: string; message: string }>): string {
  return `invalid command: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
}
