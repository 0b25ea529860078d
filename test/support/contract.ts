import { readFileSync } from 'node:fs';
import AjvModule, { type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { ASYNCAPI_FILE } from '../../edge/uplink/asyncapi.js';
import { eventMessageKey } from '../../edge/uplink/asyncapi-events.js';

/**
 * Validates wire messages against the AsyncAPI document in the repository (edge/uplink/
 * asyncapi.yaml, not the TypeBox objects it was generated from): an event is checked against the
 * message of its own type, so a payload that drifted from its schema, or an event type the
 * document does not know, is reported.
 */
const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;

export interface ContractViolation {
  type: string;
  problem: string;
  example: unknown;
}

export class ContractChecker {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly doc = parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as {
    components: { messages: Record<string, unknown>; schemas: Record<string, unknown> };
  };
  private readonly cache = new Map<string, ValidateFunction | null>();
  readonly violations: ContractViolation[] = [];
  readonly checkedTypes = new Map<string, number>();

  constructor() {
    addFormats(this.ajv);
    this.ajv.addSchema(this.doc, 'asyncapi');
  }

  private validator(type: string): ValidateFunction | null {
    if (!this.cache.has(type)) {
      const key = eventMessageKey(type);
      this.cache.set(
        type,
        key in this.doc.components.messages
          ? (this.ajv.getSchema(`asyncapi#/components/messages/${key}/payload`) ?? null)
          : null,
      );
    }
    return this.cache.get(type)!;
  }

  /** Check one envelope as it is on the wire (parsed JSON); records a violation, returns ok. */
  check(envelope: { type: string } & Record<string, unknown>): boolean {
    const type = envelope.type;
    this.checkedTypes.set(type, (this.checkedTypes.get(type) ?? 0) + 1);
    const validate = this.validator(type);
    if (!validate) {
      if (!this.violations.some((v) => v.type === type && v.problem === 'no schema'))
        this.violations.push({ type, problem: 'no schema', example: envelope.payload });
      return false;
    }
    const example: unknown = envelope.payload;
    if (validate(envelope)) return true;
    if (this.violations.filter((v) => v.type === type).length < 3)
      this.violations.push({
        type,
        problem: this.ajv.errorsText(validate.errors),
        example,
      });
    return false;
  }

  /** Check against a named component schema (Status, DeviceStatus, ...). */
  checkComponent(name: string, value: unknown): string | null {
    const validate = this.ajv.getSchema(`asyncapi#/components/schemas/${name}`);
    if (!validate) return `no component schema ${name}`;
    return validate(value) ? null : this.ajv.errorsText(validate.errors);
  }

  /** A readable report: the event types without a schema, then the payloads that do not fit. */
  report(): string {
    const missing = this.violations.filter((v) => v.problem === 'no schema').map((v) => v.type);
    const wrong = this.violations.filter((v) => v.problem !== 'no schema');
    return [
      missing.length > 0
        ? `event types without a payload schema (add them to edge/events/payloads): ${missing.join(', ')}`
        : '',
      ...wrong.map((v) => `${v.type}: ${v.problem}; payload ${JSON.stringify(v.example)}`),
    ]
      .filter(Boolean)
      .join('\n');
  }
}
