import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** An ioredis client: a single node or a Cluster. */
export type RedisClient = Redis | Cluster;

/** A Lua script run with EVALSHA, falling back to EVAL once when the server does not know it (NOSCRIPT). */
export interface RedisScript {
  readonly sha: string;
  run(client: RedisClient, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown>;
}

export function defineScript(source: string): RedisScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    sha,
    async run(client, keys, args) {
      try {
        return await client.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return client.eval(source, keys.length, ...keys, ...args);
      }
    },
  };
}

/** Redis time in ms inside a script; `replicate_commands` makes `TIME` safe on Redis < 5 (a no-op later). */
export const luaNow = `
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;
