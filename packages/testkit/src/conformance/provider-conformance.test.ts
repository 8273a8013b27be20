import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StreamEvent } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { providerObligations, streamEventProblems } from './provider-conformance.js';

// The suite passing is proven by every provider package's conformance.test.ts (the reference is
// @bulwark/provider-openai-compatible); here: what it says when a provider fails it.
describe('a provider written without the helpers', () => {
  interface AssertionResult {
    title: string;
    status: string;
    duration?: number;
    failureMessages: string[];
  }

  it('fails with messages naming the obligation and the helper, never with a bare timeout', async () => {
    const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
    const vitestBin = join(
      dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
      'vitest.mjs',
    );
    const directory = await mkdtemp(join(tmpdir(), 'bulwark-naive-conformance-'));
    const output = join(directory, 'results.json');
    try {
      await promisify(execFile)(
        process.execPath,
        [
          vitestBin,
          'run',
          '--config',
          'src/conformance/test-helpers/naive-provider.vitest.config.ts',
          '--reporter=json',
          `--outputFile=${output}`,
        ],
        { cwd: packageRoot, env: { ...process.env, CI: 'true' } },
      ).catch((error: { code?: number }) => {
        if (error.code !== 1) throw error; // 1: tests failed, as they should
      });
      const report = JSON.parse(await readFile(output, 'utf8')) as {
        testResults: Array<{ assertionResults: AssertionResult[] }>;
      };
      const results = report.testResults.flatMap((file) => file.assertionResults);
      const failed = results.filter((result) => result.status === 'failed');
      expect(results.length).toBeGreaterThan(25);
      expect(failed.length).toBeGreaterThan(20);
      const obligations = Object.values(providerObligations);
      for (const result of failed) {
        const message = result.failureMessages.join('\n');
        expect(message, result.title).not.toMatch(/Test timed out/);
        expect(
          obligations.some((obligation) => message.includes(obligation)),
          `${result.title}: ${message.slice(0, 300)}`,
        ).toBe(true);
      }
      const aborts = failed.filter((result) => result.title.includes('abort'));
      expect(aborts.map((result) => result.title)).toEqual(
        expect.arrayContaining([
          'aborts a call waiting for headers promptly and closes the socket',
          'aborts mid-stream promptly and closes the socket',
        ]),
      );
      for (const result of aborts) expect(result.duration ?? 0).toBeLessThan(5000);
      expect(failed.find((result) => result.title.startsWith('429'))?.failureMessages.join('')).toContain(
        'errorFromHttpResponse',
      );
      expect(
        failed.find((result) => result.title.startsWith('aborts a call waiting'))?.failureMessages.join(''),
      ).toContain('postJson');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('streamEventProblems', () => {
  const start: StreamEvent = { type: 'start', id: 'x', provider: 'p', model: 'm' };
  const finish: StreamEvent = { type: 'finish', finishReason: 'stop' };

  it('accepts a well-formed stream', () => {
    expect(
      streamEventProblems([
        start,
        { type: 'text-delta', text: 'a' },
        { type: 'tool-call-delta', index: 0, id: 'c', name: 'n', argumentsDelta: '{' },
        { type: 'tool-call-delta', index: 0, argumentsDelta: '}' },
        { type: 'usage', usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } },
        finish,
      ]),
    ).toEqual([]);
  });

  it('names what is wrong with a malformed stream', () => {
    expect(
      streamEventProblems([
        { type: 'text-delta', text: 'a' },
        { type: 'tool-call-delta', index: 1, argumentsDelta: '{' },
        finish,
        finish,
      ]),
    ).toEqual([
      'first event is text-delta, expected start',
      'expected exactly one start',
      'expected exactly one finish, got 2',
      'first delta of tool call 1 lacks id or name',
    ]);
    expect(streamEventProblems([start])).toContain('last event is start, expected finish');
  });
});
