/**
 * Ajv standalone code for the configuration validators (config/precompiled-validators.ts): the
 * root ConfigSchema and every driver kind's schema of drivers/kinds.ts, compiled with the
 * options ConfigValidator uses (allErrors, useDefaults, strict: false), as an ES module. The
 * bundle puts it in place of the null stub; a test checks it answers exactly as the compiled
 * validators do.
 */
import AjvModule from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';

const Ajv = AjvModule.default;
type Standalone = (ajv: InstanceType<typeof Ajv>, refs: Record<string, string>) => string;
const standaloneCode =
  (standaloneModule as unknown as { default?: Standalone }).default ??
  (standaloneModule as unknown as Standalone);

export async function configValidatorsModule(): Promise<string> {
  const { ConfigSchema } = await import('../config/schema.js');
  const { DRIVER_KINDS } = await import('../drivers/kinds.js');
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    strict: false,
    code: { source: true, esm: true },
  });
  const refs: Record<string, string> = { root: 'root' };
  ajv.addSchema(ConfigSchema, 'root');
  const kinds: string[] = [];
  DRIVER_KINDS.forEach((k, i) => {
    ajv.addSchema(k.schema, `kind${i}`);
    refs[`kind${i}`] = `kind${i}`;
    kinds.push(`${JSON.stringify(k.kind)}: kind${i}`);
  });
  let code = standaloneCode(ajv, refs).replace(/^"use strict";/, '');
  // Ajv's runtime helpers are required CommonJS-style: ES imports instead
  const imports: string[] = [];
  // (`require(x).default`: Node hands a CommonJS module.exports as the default import,
  // bundlers honouring __esModule hand exports.default: either way `.default` must work)
  code = code.replace(/require\("([^"]+)"\)/g, (_m, spec: string) => {
    const name = `ajvRuntime${imports.length}`;
    const file = JSON.stringify(spec.endsWith('.js') ? spec : `${spec}.js`);
    imports.push(
      `import * as ${name}Ns from ${file};\nconst ${name} = ${name}Ns.default && ${name}Ns.default.default ? ${name}Ns.default : ${name}Ns;`,
    );
    return name;
  });
  return `${imports.join('\n')}\n${code}\nexport const PRECOMPILED_CONFIG_VALIDATORS = { root, kinds: { ${kinds.join(', ')} } };\n`;
}
