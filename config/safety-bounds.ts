import { commandKeyIssues } from './command-keys.js';
import type { GatewayConfig } from './schema.js';

/**
 * Bounds that protect the fail-safe and the gateway's exposure, checked for every configuration
 * whatever its source (the file at start, PUT /api/config, the platform's config-put), as part of
 * the loader's cross-checks (cross-checks.ts semanticIssuesOf). A diverting gate's safe value is checked
 * in config/gate-checks.ts (the gate controller refuses it too).
 */

/** The longest a gate controller may keep running its schedule without the gateway's heartbeat. */
export const SAFE_STATE_MAX_MS = 2000;

export interface BoundIssue {
  path: string;
  message: string;
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function safetyBoundIssues(c: GatewayConfig): BoundIssue[] {
  const issues: BoundIssue[] = [];
  const g = c.gates;
  const vmax = c.line.tracking.maxSpeedMmPerS ?? c.line.beltSpeedMmPerS;
  const lateMm = (g.maxLateMs * vmax) / 1000;
  if (lateMm > c.line.minGapMm) {
    issues.push({
      path: '/gates/maxLateMs',
      message: `a gate fired ${g.maxLateMs} ms late at ${vmax} mm/s is ${Math.round(lateMm)} mm off, more than the smallest gap between parcels (line.minGapMm ${c.line.minGapMm} mm): it could divert the next parcel. At most ${Math.floor((c.line.minGapMm / vmax) * 1000)} ms`,
    });
  }
  if (g.safeStateAfterMs > SAFE_STATE_MAX_MS) {
    issues.push({
      path: '/gates/safeStateAfterMs',
      message: `at most ${SAFE_STATE_MAX_MS} ms: a gate controller that lost the gateway keeps firing its schedule (no withdrawal can reach it) and keeps held gates held until then`,
    });
  }
  if (g.safeStateAfterMs < 2 * g.heartbeatIntervalMs) {
    issues.push({
      path: '/gates/safeStateAfterMs',
      message: `at least twice heartbeatIntervalMs (${2 * g.heartbeatIntervalMs} ms), or one late heartbeat trips the safe state`,
    });
  }
  if (!isLoopback(c.http.host) && !c.http.tls) {
    issues.push({
      path: '/http/host',
      message: `HTTP on ${c.http.host} (beyond this machine) needs http.tls: passwords would cross the network in clear. Serve HTTPS, or bind 127.0.0.1 behind a reverse proxy that terminates TLS`,
    });
  }
  const b = c.embeddedBroker;
  if (b.enabled && !isLoopback(b.host) && (!b.username || !b.password)) {
    issues.push({
      path: '/embeddedBroker',
      message: `the embedded MQTT broker on ${b.host} (beyond this machine) needs username and password; production uses the platform's broker with TLS and a client certificate (docs/security.md)`,
    });
  }
  const cmd = c.uplink.commands;
  if (cmd.maxUnsignedBytes > cmd.maxSignedBytes) {
    issues.push({
      path: '/uplink/commands/maxUnsignedBytes',
      message: `larger than maxSignedBytes (${cmd.maxSignedBytes})`,
    });
  }
  issues.push(...commandKeyIssues(cmd.signing.keys, '/uplink/commands/signing/keys'));
  return issues;
}
