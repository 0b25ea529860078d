import { gatesConfigIssues } from './gate-checks.js';
import { lineConfigIssues } from './line-checks.js';
import type { GatewayConfig } from './schema.js';
import type { ConfigIssue } from './secrets.js';

/**
 * Cross-field checks the schema cannot express, in one place for every source of a
 * configuration (the file at start, HTTP, the platform's config-put): the embedded broker, gates
 * (config/gate-checks.ts), lanes, rules, fail-safe geometry and the CT verdict budget
 * (config/line-checks.ts). Driver kinds' own checks run with their schemas in the validator.
 */
export function semanticIssues(c: GatewayConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (c.uplink.url === 'embedded' && !c.embeddedBroker.enabled) {
    issues.push({ path: '/uplink/url', message: "'embedded' needs embeddedBroker.enabled: true" });
  }
  const outputs = new Set(c.gates.outputs.map((o) => o.id));
  issues.push(...gatesConfigIssues(c.gates));
  issues.push(...lineConfigIssues(c.line, outputs));
  return issues;
}
