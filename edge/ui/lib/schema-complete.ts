import type { CompletionContext, CompletionResult } from '@codemirror/autocomplete';

/**
 * YAML completion from the gateway's JSON Schema (GET /api/config/schema): property names with
 * their descriptions where a key goes, allowed values (enum, const, boolean) after `key: `.
 * The place in the document is read from indentation, which is how the configuration is
 * written (block style); a driver's properties come from its `kind`'s schema.
 */
export interface ConfigSchemas {
  root: JsonSchema;
  drivers: Record<string, JsonSchema>;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  description?: string;
  default?: unknown;
}

interface Step {
  key: string | null;
  item: boolean;
}

/** The chain of keys (and list items) that contains line `lineNo`, from the text above it. */
export function pathAt(lines: string[], lineNo: number, indent: number): Step[] {
  const steps: Step[] = [];
  let limit = indent;
  for (let i = lineNo - 1; i >= 0 && limit > 0; i--) {
    const line = lines[i]!;
    if (!line.trim() || line.trim().startsWith('#')) continue;
    const lead = line.length - line.trimStart().length;
    if (lead >= limit) continue;
    const m = /^(\s*)(- )?([A-Za-z0-9_-]+)?\s*:?/.exec(line);
    const isItem = !!m?.[2];
    const key = m?.[3] && line.includes(':') ? m[3] : null;
    // "- key: value" opens a list item whose first key is key (a sibling of the cursor's)
    if (isItem) {
      steps.unshift({ key: null, item: true });
      limit = lead;
      continue;
    }
    steps.unshift({ key, item: false });
    limit = lead;
  }
  return steps;
}

function objectSchemas(s: JsonSchema | undefined): JsonSchema[] {
  if (!s) return [];
  if (s.anyOf) return s.anyOf.flatMap(objectSchemas);
  return s.properties || s.type === 'object' ? [s] : [];
}

function resolve(
  schemas: ConfigSchemas,
  steps: Step[],
  kindOfItem: () => string | null,
): JsonSchema[] {
  let current: JsonSchema[] = [schemas.root];
  const keys: string[] = [];
  for (const step of steps) {
    if (step.item) {
      if (keys.length === 1 && keys[0] === 'drivers') {
        const kind = kindOfItem();
        const driver = kind ? schemas.drivers[kind] : undefined;
        current = driver ? [driver] : current.flatMap((c) => (c.items ? [c.items] : []));
      } else current = current.flatMap((c) => (c.items ? objectSchemas(c.items) : []));
      continue;
    }
    if (!step.key) return [];
    keys.push(step.key);
    current = current.flatMap((c) =>
      objectSchemas(c).flatMap((o) =>
        o.properties?.[step.key!] ? [o.properties[step.key!]!] : [],
      ),
    );
  }
  return current;
}

function values(s: JsonSchema): string[] {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v).replace(/^"|"$/g, ''));
  if (s.const !== undefined) return [JSON.stringify(s.const).replace(/^"|"$/g, '')];
  if (s.anyOf) return s.anyOf.flatMap(values);
  if (s.type === 'boolean') return ['true', 'false'];
  return [];
}

export function schemaCompletion(getSchemas: () => ConfigSchemas | null) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const schemas = getSchemas();
    if (!schemas) return null;
    const line = ctx.state.doc.lineAt(ctx.pos);
    const before = line.text.slice(0, ctx.pos - line.from);
    const lines = ctx.state.doc.toString().split('\n');
    const lineNo = line.number - 1;
    const kindOfItem = () => {
      // the `kind:` of the list item around the cursor
      for (let i = lineNo; i >= 0; i--) {
        const m = /^\s*(- )?kind:\s*([\w-]+)/.exec(lines[i]!);
        if (m) return m[2]!;
        if (i < lineNo && /^\s*- /.test(lines[i]!)) break;
      }
      for (let i = lineNo + 1; i < lines.length && !/^\s*- /.test(lines[i]!); i++) {
        const m = /^\s*kind:\s*([\w-]+)/.exec(lines[i]!);
        if (m) return m[1]!;
      }
      return null;
    };
    const valueMatch = /^(\s*(?:- )?)([A-Za-z0-9_-]+):\s*([\w.-]*)$/.exec(before);
    if (valueMatch) {
      const dash = valueMatch[1]!.includes('-');
      const indent = valueMatch[1]!.length - (dash ? 2 : 0);
      const steps = pathAt(lines, lineNo, indent);
      if (dash) steps.push({ key: null, item: true });
      steps.push({ key: valueMatch[2]!, item: false });
      const options = resolve(schemas, steps, kindOfItem).flatMap(values);
      if (options.length === 0) return null;
      return {
        from: ctx.pos - valueMatch[3]!.length,
        options: [...new Set(options)].map((v) => ({ label: v, type: 'enum' })),
      };
    }
    const keyMatch = /^(\s*)(- )?([A-Za-z0-9_-]*)$/.exec(before);
    if (!keyMatch || (!ctx.explicit && keyMatch[3] === '')) return null;
    const steps = pathAt(lines, lineNo, keyMatch[1]!.length);
    if (keyMatch[2]) steps.push({ key: null, item: true });
    const props = resolve(schemas, steps, kindOfItem).flatMap((s) =>
      objectSchemas(s).flatMap((o) => Object.entries(o.properties ?? {})),
    );
    if (props.length === 0) return null;
    return {
      from: ctx.pos - keyMatch[3]!.length,
      options: props.map(([name, p]) => ({
        label: name,
        type: 'property',
        apply: `${name}: `,
        ...(p.description ? { info: p.description } : {}),
        ...(p.default !== undefined ? { detail: `= ${JSON.stringify(p.default)}` } : {}),
      })),
    };
  };
}
