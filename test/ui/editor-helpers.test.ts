import { CompletionContext } from '@codemirror/autocomplete';
import { EditorState } from '@codemirror/state';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../config/schema.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { diffLines, hunks } from '../../edge/ui/lib/diff.js';
import { schemaCompletion, type ConfigSchemas } from '../../edge/ui/lib/schema-complete.js';

/** The config editor's schema completion and the diff, on the gateway's real JSON Schema. */
const schemas = JSON.parse(
  JSON.stringify({ root: ConfigSchema, drivers: Object.fromEntries(driverKindSchemas()) }),
) as ConfigSchemas;

function complete(text: string, explicit = true) {
  const pos = text.indexOf('|');
  const doc = text.replace('|', '');
  const state = EditorState.create({ doc });
  const result = schemaCompletion(() => schemas)(new CompletionContext(state, pos, explicit));
  return result?.options.map((o) => o.label) ?? [];
}

describe('config editor helpers', () => {
  it('completes keys of the section the cursor is in', () => {
    expect(complete('line:\n  belt|')).toEqual(
      expect.arrayContaining(['beltSpeedMmPerS', 'ct', 'lanes']),
    );
    expect(complete('gates:\n  |')).toEqual(
      expect.arrayContaining(['outputs', 'maxLateMs', 'safeStateAfterMs']),
    );
    expect(complete('http:\n  host: x\n  |')).toEqual(
      expect.arrayContaining(['users', 'metrics', 'sessionIdleMinutes']),
    );
  });

  it("completes a driver's keys from its kind, and allowed values", () => {
    const keys = complete('drivers:\n  - id: sim\n    kind: simulated-line\n    parcels|');
    expect(keys).toContain('parcelsPerMinute');
    expect(keys).not.toContain('servers');
    expect(complete('http:\n  users:\n    - name: a\n      role: |')).toEqual([
      'viewer',
      'inspector',
      'technician',
      'admin',
    ]);
    expect(complete('embeddedBroker:\n  enabled: |')).toEqual(['true', 'false']);
  });

  it('diffs lines and keeps context around changes', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
    const after = before.replace('line 10', 'line ten');
    const lines = diffLines(before, after);
    expect(lines.filter((l) => l.op !== ' ')).toEqual([
      { op: '-', text: 'line 10' },
      { op: '+', text: 'line ten' },
    ]);
    const shown = hunks(lines, 2);
    expect(shown[0]).toBeNull();
    expect(shown.filter(Boolean)).toHaveLength(6);
  });
});
