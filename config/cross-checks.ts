import { gatesConfigIssues } from './gate-checks.js';
import { lineConfigIssues } from './line-checks.js';
import { safetyBoundIssues } from './safety-bounds.js';
import { plcLaneIssues } from './sorter-checks.js';
import type { GatewayConfig } from './schema.js';
import type { ConfigIssue } from './secrets.js';

/**
 * Cross-field checks the schema cannot express, in one place for every source of a
 * configuration (the file at start, HTTP, the platform's config-put): the embedded broker, gates
 * (config/gate-checks.ts), lanes, rules, fail-safe geometry and the CT verdict budget
 * (config/line-checks.ts), the bounds that protect the fail-safe and the gateway's exposure
 * (config/safety-bounds.ts). Driver kinds' own checks run with their schemas in the validator.
 *
 * Every cross-check that can run on a document that may also fail the schema, so one pass lists
 * schema errors and cross-field errors together: a check that cannot run on a malformed part is
 * skipped (the schema error already names that part).
 */
export function semanticIssuesOf(c: GatewayConfig): ConfigIssue[] {
  const parts: (() => ConfigIssue[])[] = [
    () =>
      c.uplink.url === 'embedded' && !c.embeddedBroker.enabled
        ? [{ path: '/uplink/url', message: "'embedded' needs embeddedBroker.enabled: true" }]
        : [],
    () => gatesConfigIssues(c.gates),
    () => lineConfigIssues(c.line, new Set(c.gates.outputs.map((o) => o.id))),
    // sorter PLC lanes against the OPC UA servers that take their decisions
    () => plcLaneIssues(c.line, c.drivers),
    // late fire, safe state, exposure, command keys (config/safety-bounds.ts)
    () => safetyBoundIssues(c),
  ];
  return parts.flatMap((part) => {
    try {
      return part();
    } catch {
      return [];
    }
  });
}
