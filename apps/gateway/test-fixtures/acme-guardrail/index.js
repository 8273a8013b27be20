// A third party's middleware plugin, written against the v1 contract only (no import of @bulwark/core):
// it answers a prompt containing a blocked word itself, with a content-filter finish, and records the
// route of every call it sees.

/** A Standard Schema for `{ blocked: string[] }`. */
const configSchema = {
  '~standard': {
    version: 1,
    vendor: 'acme',
    validate(value) {
      const blocked = value?.blocked ?? [];
      if (!Array.isArray(blocked) || blocked.some((word) => typeof word !== 'string')) {
        return { issues: [{ message: 'a list of words', path: ['blocked'] }] };
      }
      return { value: { blocked } };
    },
  },
};

const lastText = (request) => {
  const content = request.messages.at(-1)?.content;
  return typeof content === 'string' ? content : '';
};

export const plugin = {
  specificationVersion: 'v1',
  kind: 'middleware',
  name: 'guardrail',
  packageName: '@acme/guardrail',
  description: 'Answers prompts with a blocked word itself, before any spend.',
  configSchema,
  create(config) {
    const calls = [];
    const blockedIn = (request) => config.blocked.find((word) => lastText(request).includes(word));
    const refusal = (request, word) => ({
      id: `acme-${calls.length}`,
      text: `acme guardrail: "${word}" is not allowed`,
      toolCalls: [],
      finishReason: 'content_filter',
      provider: 'acme-guardrail',
      model: request.model,
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      attempts: [],
    });
    return {
      specificationVersion: 'v1',
      name: 'acme-guardrail',
      stage: 'budget',
      calls,
      async complete(request, context, next) {
        calls.push({ model: request.model, alias: context.route?.alias, targets: context.route?.targets });
        const word = blockedIn(request);
        return word === undefined ? next(request, context) : refusal(request, word);
      },
    };
  },
};
