// Files of a scaffolded provider plugin. The provider, its plugin and its conformance test are the ones
// docs/writing-a-plugin.md builds (its "Acme" provider, renamed), so the scaffold is what the guide explains and
// what provider-openai-compatible's guide-examples.test.ts proves passes the conformance suite.
import { readFileSync } from 'node:fs';

const guide = readFileSync(new URL('../docs/writing-a-plugin.md', import.meta.url), 'utf8');

/** The guide's TypeScript block whose first line is `// src/<file>.ts`, without that line. */
function guideBlock(file) {
  for (const [, code] of guide.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const first = `// src/${file}.ts\n`;
    if (code.startsWith(first)) return code.slice(first.length);
  }
  throw new Error(`docs/writing-a-plugin.md has no block for src/${file}.ts`);
}

/** `foo-bar` → `FooBar`. */
const pascal = (base) => base.replace(/(^|-)([a-z0-9])/g, (_, __, letter) => letter.toUpperCase());

/** The files of `@bulwark/provider-<base>`, by path inside the package. */
export function providerFiles(base, description) {
  const packageName = `@bulwark/provider-${base}`;
  const title = pascal(base);
  const camel = title.charAt(0).toLowerCase() + title.slice(1);
  const rename = (code) =>
    code
      .replaceAll("'bulwark-plugin-acme'", `'${packageName}'`)
      .replaceAll(
        "'The Acme chat API'",
        JSON.stringify(description || `The ${title} chat API`).replaceAll('"', "'"),
      )
      .replaceAll('./acme-provider.js', `./${base}-provider.js`)
      .replaceAll('acmeConfigSchema', `${camel}ConfigSchema`)
      .replaceAll('Acme', title)
      .replaceAll('acme', base);
  return {
    [`src/${base}-provider.ts`]: rename(guideBlock('acme-provider')),
    'src/plugin.ts': rename(guideBlock('plugin')),
    'src/conformance.test.ts': rename(guideBlock('conformance.test')),
    'src/index.ts': [
      `export type { ${title}ProviderOptions } from './${base}-provider.js';`,
      `export { create${title}Provider } from './${base}-provider.js';`,
      `export { ${camel}ConfigSchema, plugin } from './plugin.js';`,
      '',
    ].join('\n'),
    'README.md': [
      `# ${packageName}`,
      '',
      description || `A Bulwark provider for the ${title} chat API.`,
      '',
      '```sh',
      `pnpm add @bulwark/core ${packageName}`,
      '```',
      '',
      '## Use',
      '',
      '```ts',
      "import { createBulwark } from '@bulwark/core';",
      `import { create${title}Provider } from '${packageName}';`,
      '',
      `const bulwark = createBulwark({ providers: [create${title}Provider({ baseURL: 'https://api.example.com/v1', apiKey: 'sk-…' })] });`,
      '```',
      '',
      'In the gateway:',
      '',
      '```yaml',
      'providers:',
      `  main:`,
      `    plugin: ${base}`,
      '    baseURL: https://api.example.com/v1',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the gateway's ${env:NAME} syntax, written as is
      '    apiKey: ${env:API_KEY}',
      '```',
      '',
      '## Develop',
      '',
      '`src/conformance.test.ts` runs the provider conformance suite of `@bulwark/testkit` against its fake upstream;',
      `\`src/${base}-provider.ts\` starts as the provider of [docs/writing-a-plugin.md](../../docs/writing-a-plugin.md)`,
      "(an OpenAI-style chat completions API): change the mapping to your API's and keep the suite green.",
      '',
    ].join('\n'),
  };
}
