import { createHash } from 'node:crypto';
import { z } from 'zod';

const byteSizePattern = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i;
const byteUnits: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** A byte count, as a number or a string such as `10mb`. */
const byteSize = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(byteSizePattern, 'a size such as 10mb, 512kb or a number of bytes')
    .transform((text) => {
      const match = byteSizePattern.exec(text.trim())!;
      return Math.round(Number(match[1]) * byteUnits[(match[2] ?? 'b').toLowerCase()]!);
    }),
]);

const port = z.number().int().min(0).max(65_535);

/** An allowed browser origin: `scheme://host[:port]`, `null`, or `*` for any. */
const corsOrigin = z.string().refine((origin) => {
  if (origin === '*' || origin === 'null') return true;
  try {
    const url = new URL(origin);
    return url.origin !== 'null' && url.pathname === '/' && !origin.endsWith('/') && url.search === '';
  } catch {
    return false;
  }
}, 'an origin such as https://app.example.com (scheme, host and port, no path), "null" or "*"');

const corsSchema = z.strictObject({
  /**
   * Browser origins allowed to call the gateway (CORS, preflights answered). Requests from any other
   * origin are refused with 403. Default none.
   */
  origins: z.array(corsOrigin).default([]),
});

const serverSchema = z.strictObject({
  /** Browser access (`origins`); without it a request carrying an `Origin` header is refused. */
  cors: corsSchema.prefault({}),
  /** Interface to bind. Default 127.0.0.1 (loopback only). */
  host: z.string().min(1).default('127.0.0.1'),
  /** Port. Default 8787; 0 picks a free one. */
  port: port.default(8787),
  /** Largest request body accepted; larger ones get 413. Default 10 MB. */
  bodyLimit: byteSize.default(10 * 1024 * 1024),
  /** On SIGTERM, how long in-flight requests may finish before their sockets are closed. */
  drainTimeoutMs: z.number().int().min(0).default(30_000),
  /** Idle keep-alive timeout of client connections. */
  keepAliveTimeoutMs: z.number().int().min(0).default(65_000),
  /** Most time a client may take to send its request headers; then 408 and the connection closes. */
  headersTimeoutMs: z.number().int().positive().default(30_000),
  /** Most time without a request body byte; then 408 in the caller's format and the connection closes. 0: off. */
  bodyIdleTimeoutMs: z.number().int().min(0).default(30_000),
  /** Most time to receive a whole request body once its headers arrived; then 408 as above. 0: off. */
  requestTimeoutMs: z.number().int().min(0).default(300_000),
});

/** The widest `x-bulwark-priority` range (and the range a caller without a key may use). */
export const priorityBounds = { min: -1000, max: 1000 } as const;

const priorityValue = z.number().int().min(priorityBounds.min).max(priorityBounds.max);

/**
 * What `x-bulwark-priority` a key may send (limiter queue order, higher first). Default: 0 when the
 * header is absent, anything from -1000 up to 0 otherwise — a keyed caller can yield, not jump the
 * queue. A value outside the range is a 400 naming the header.
 */
const priorityRangeSchema = z
  .strictObject({
    /** Priority of the key's calls without the header. Default 0. */
    default: priorityValue.default(0),
    /** Highest value the key may send. Default: `default`. */
    max: priorityValue.optional(),
    /** Lowest value the key may send. Default -1000. */
    min: priorityValue.default(priorityBounds.min),
  })
  .transform((range) => ({ default: range.default, min: range.min, max: range.max ?? range.default }))
  .refine((range) => range.min <= range.default && range.default <= range.max, {
    message: 'min <= default <= max',
  });

/** What a key may reach: `api` (the /v1 routes), `metrics` (GET /metrics). */
export const keyRoles = ['api', 'metrics'] as const;

/** Per-key limits, enforced by the limiter (with the `limiter:` section's store, so shared on Redis). */
const keyLimitsSchema = z.strictObject({
  /** Requests per minute of this key (each attempt counts). */
  rpm: z.number().positive().optional(),
  /** Tokens per minute of this key (input estimate plus reserved output, as the limiter counts). */
  tpm: z.number().positive().optional(),
  /** Calls of this key in flight at once. */
  concurrency: z.number().int().positive().optional(),
});

/** One key entry as `auth.keys` and a key source (`auth.source`) hold it. */
export const authKeyObject = z
  .strictObject({
    /** The key itself. Give `key` or `keyHash`. */
    key: z.string().min(8, 'a key of at least 8 characters').optional(),
    /** The SHA-256 of the key as 64 hex digits, so the config file need not hold the secret. */
    keyHash: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the key as 64 hex digits')
      .transform((hash) => hash.toLowerCase())
      .optional(),
    /** Tenant of this key: logs, metrics, cache namespace, budgets. Default `key-<index>`. Unique. */
    tenant: z.string().min(1).optional(),
    /** Older spelling of `tenant`. */
    name: z.string().min(1).optional(),
    /** What the key may reach. Default `[api]`; a Prometheus key is `[metrics]`. */
    roles: z.array(z.enum(keyRoles)).min(1).default(['api']),
    /** The `x-bulwark-priority` range of the key. */
    priority: priorityRangeSchema.optional(),
    /** Aliases and `provider/model` patterns (`*` matches any run of characters) the key may call. Default all. */
    models: z.array(z.string().min(1)).min(1).optional(),
    /** The key's own rate limits. */
    limits: keyLimitsSchema.optional(),
    /** The key's spend limit, kept by the budget middleware on its spend store (`budget.store`). */
    budget: z
      .strictObject({
        /** USD the key may spend per window. */
        limitUsd: z.number().positive(),
        /** `day` (default) or `month`, UTC. */
        window: z.enum(['day', 'month']).default('day'),
        /** `hard` (default): refuse calls that would go over (402). `soft`: serve them, log and emit `budget:exceeded`. */
        mode: z.enum(['hard', 'soft']).default('hard'),
      })
      .optional(),
    /** When the key stops working: an ISO 8601 date-time (`2027-01-31T00:00:00Z`). */
    expiresAt: z
      .string()
      .refine((text) => !Number.isNaN(Date.parse(text)), 'an ISO 8601 date-time such as 2027-01-31T00:00:00Z')
      .optional(),
  })
  .superRefine((entry, context) => {
    if ((entry.key === undefined) === (entry.keyHash === undefined))
      context.addIssue({ code: 'custom', path: ['key'], message: 'either key or keyHash (not both)' });
    if (entry.tenant !== undefined && entry.name !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['name'],
        message: 'tenant or name (the older spelling), not both',
      });
  })
  .transform(({ tenant, ...entry }) => ({ ...entry, name: tenant ?? entry.name }));

/** The SHA-256 (hex) of an `auth.keys` entry's key. */
export function keyDigestOf(
  entry: string | { key?: string | undefined; keyHash?: string | undefined },
): string {
  if (typeof entry === 'string') return createHash('sha256').update(entry).digest('hex');
  return (
    entry.keyHash ??
    createHash('sha256')
      .update(entry.key ?? '')
      .digest('hex')
  );
}

const authKey = z.union([z.string().min(8, 'a key of at least 8 characters'), authKeyObject]);

/** The tenant name of `auth.keys[index]`: its `name`, else `key-<index>`. */
export function tenantName(entry: string | { name?: string | undefined }, index: number): string {
  return typeof entry === 'string' ? `key-${index}` : (entry.name ?? `key-${index}`);
}

const authSchema = z
  .strictObject({
    /**
     * Accepted keys; every /v1 call must send one (`Authorization: Bearer <key>` or `x-api-key`), and
     * so must GET /metrics (a key with the `metrics` role).
     */
    keys: z.array(authKey).default([]),
    /**
     * More keys, re-read every `refreshMs` (default 500) so keys are added and revoked without a restart:
     * `{ plugin: redis, url, prefix }` (a hash `<prefix>keys`: field = SHA-256 of the key, value = the entry
     * as JSON without `key`/`keyHash`) or `{ plugin: file, path }` (YAML or JSON `keys: [...]`).
     */
    source: z
      .discriminatedUnion('plugin', [
        z.strictObject({
          plugin: z.literal('redis'),
          url: z.string().min(1).default('redis://127.0.0.1:6379'),
          prefix: z.string().default('bulwark:'),
          refreshMs: z.number().int().min(50).default(500),
        }),
        z.strictObject({
          plugin: z.literal('file'),
          path: z.string().min(1),
          refreshMs: z.number().int().min(50).default(500),
        }),
      ])
      .optional(),
  })
  .superRefine((auth, context) => {
    if (auth.keys.length === 0 && auth.source === undefined)
      context.addIssue({ code: 'custom', path: ['keys'], message: 'at least one key (or a key source)' });
    // Two keys with one tenant name would share a cache namespace, budgets and metrics.
    const automatic = (entry: (typeof auth.keys)[number]): boolean =>
      typeof entry === 'string' || entry.name === undefined;
    const names = new Map<string, number>();
    const keys = new Map<string, number>();
    for (const [index, entry] of auth.keys.entries()) {
      const name = tenantName(entry, index);
      const earlier = names.get(name);
      if (earlier === undefined) names.set(name, index);
      else {
        const how = automatic(auth.keys[earlier]!) ? ' (its automatic name)' : '';
        context.addIssue({
          code: 'custom',
          path: automatic(entry) ? ['keys', index] : ['keys', index, 'name'],
          message: automatic(entry)
            ? `a tenant name no other key has: this key's automatic name ${name} is the name of auth.keys[${earlier}] (give one of them another name)`
            : `a tenant name no other key has: auth.keys[${earlier}] has the same name${how}`,
        });
      }
      const key = keyDigestOf(entry);
      const sameKey = keys.get(key);
      if (sameKey === undefined) keys.set(key, index);
      else
        context.addIssue({
          code: 'custom',
          path:
            typeof entry === 'string'
              ? ['keys', index]
              : ['keys', index, entry.keyHash !== undefined ? 'keyHash' : 'key'],
          message: `a key no other entry has: auth.keys[${sameKey}] has the same key`,
        });
    }
  });

/** Limits of one provider, handed to the limiter (whose own schema checks the rest, e.g. `requestBurst`). */
const limitsSchema = z.looseObject({
  rpm: z.number().positive().optional(),
  tpm: z.number().positive().optional(),
  concurrency: z.number().int().positive().optional(),
});

/** A provider entry: `plugin` names the provider plugin; the other keys are that plugin's config. */
const providerSchema = z.looseObject({
  plugin: z.string().min(1),
  limits: limitsSchema.optional(),
});

const targetSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  priority: z.number().optional(),
  weight: z.number().min(0).optional(),
  maxContextTokens: z.number().int().positive().optional(),
  overrides: z
    .strictObject({
      temperature: z.number().optional(),
      topP: z.number().optional(),
      maxTokens: z.number().int().positive().optional(),
      stop: z.array(z.string()).optional(),
      seed: z.number().int().optional(),
      providerOptions: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    })
    .optional(),
});

/**
 * What a call does when the target speaks the other wire format and a field of the caller's request
 * cannot be carried: `lenient` serves it and names the fields in `x-bulwark-dropped`; `strict` answers
 * 400 naming the first one.
 */
const translationSchema = z.enum(['lenient', 'strict']);

const aliasSchema = z.union([
  z.array(targetSchema).min(1),
  z.strictObject({
    targets: z.array(targetSchema).min(1),
    contentFilterFallback: targetSchema.optional(),
    /** Overrides the top-level `translation` for this alias. */
    translation: translationSchema.optional(),
  }),
]);

/**
 * One entry of `middleware:`: a middleware plugin by name (`otel`, a plugin of a `plugins:` package) or by
 * package (`@acme/guardrail`, which must export one middleware plugin), and its config, which the
 * plugin's own schema checks.
 */
const middlewareEntrySchema = z.strictObject({
  plugin: z.string().min(1),
  config: z.unknown().optional(),
});

/** A middleware section: its plugin's config, or `false` to switch the middleware off. */
const section = z.union([z.literal(false), z.looseObject({})]);

/**
 * Where a section keeps its state, the same in every section (`cache`, `limiter`, `breaker`, `budget`):
 * `store: { plugin: redis, url, prefix }`. The section's plugin checks the rest.
 */
const storeSchema = z.looseObject(
  { plugin: z.string().min(1) },
  { error: 'an object such as { plugin: redis, url, prefix } (or { plugin: memory })' },
);

/** A section with a store: its plugin's config, or `false` to switch the middleware off. */
const sectionWithStore = z.union([z.literal(false), z.looseObject({ store: storeSchema.optional() })]);

const cacheSchema = z.union([
  z.literal(false),
  z.looseObject({
    /** Cache backend: `{ plugin: memory }` (default), `{ plugin: redis, url, prefix }`, or a `plugins:` package's. */
    store: storeSchema.optional(),
    /** Deprecated spelling of `store.plugin` (`cache: { plugin: redis, url }`). */
    plugin: z.string().min(1).optional(),
    /** One cache for every caller instead of one namespace per API key. Default false. */
    shared: z.boolean().default(false),
  }),
]);

export const gatewayConfigSchema = z.strictObject({
  server: serverSchema.prefault({}),
  auth: authSchema.optional(),
  /** Extra plugin packages to import; the built-ins need no entry. */
  plugins: z.array(z.string().min(1)).default([]),
  providers: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a name of letters, digits, _ . -'), providerSchema)
    .refine((providers) => Object.keys(providers).length > 0, 'at least one provider'),
  models: z.record(z.string().min(1), aliasSchema).default({}),
  /** Let a model name that is not an alias through when one provider serves it. Default true. */
  passThrough: z.boolean().default(true),
  /** Fields a cross-format call cannot carry: `lenient` (default) names them in `x-bulwark-dropped`, `strict` answers 400. */
  translation: translationSchema.default('lenient'),
  /**
   * Middleware plugins, first-party or from installed packages, each at the stage it declares (the list
   * order only breaks ties). The sections below are shorthand for entries of this list.
   */
  middleware: z.array(middlewareEntrySchema).default([]),
  retry: section.optional(),
  timeout: section.optional(),
  breaker: sectionWithStore.optional(),
  hedge: section.optional(),
  budget: sectionWithStore.optional(),
  usage: section.optional(),
  cache: cacheSchema.optional(),
  limiter: sectionWithStore.optional(),
  /** `/v1/responses`. */
  responses: z
    .strictObject({
      /**
       * Where the target of each response id is remembered for `previous_response_id`: `{ plugin: memory }`
       * (default, this process only) or `{ plugin: redis, url, prefix }` (shared by every replica).
       */
      pinning: z
        .strictObject({
          store: z
            .discriminatedUnion(
              'plugin',
              [
                z.strictObject({ plugin: z.literal('memory') }),
                z.strictObject({
                  plugin: z.literal('redis'),
                  url: z.string().min(1).optional(),
                  prefix: z.string().default('bulwark:'),
                }),
              ],
              { error: 'an object such as { plugin: redis, url, prefix } (or { plugin: memory })' },
            )
            .optional(),
          /** How long a response id stays pinned. Default 6 hours. */
          ttlSeconds: z.number().positive().default(21_600),
        })
        .prefault({}),
    })
    .optional(),
  log: z
    .strictObject({
      /** Lowest level of the gateway's logs and of the request log (its lines are `info`, failed requests `warn`). */
      level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
      /** One JSON line per chat request (tenant, alias, attempts, tokens, cost, latency; never prompt or key). Default true. */
      requests: z.boolean().default(true),
      /** Share of requests logged, 0 to 1. Default 1. */
      sample: z.number().min(0).max(1).default(1),
      /** Append request lines to this file instead of stdout. */
      file: z.string().min(1).optional(),
    })
    .prefault({}),
  metrics: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
});

/** The gateway config file as written (before defaults). */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
/** The validated gateway config, defaults applied. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
