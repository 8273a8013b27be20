import { createHash } from 'node:crypto';
import { estimateTokens } from './reply-content.js';

/**
 * A deterministic unit vector for `text` by feature hashing its lower-cased words, so texts that share
 * words are close in cosine similarity (useful for semantic-cache tests) and equal texts are equal.
 */
export function embedText(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text];
  for (const word of words) {
    const digest = createHash('sha256').update(word).digest();
    for (let feature = 0; feature < 4; feature += 1) {
      const slot = digest.readUInt32LE(feature * 4) % dimensions;
      vector[slot] = (vector[slot] ?? 0) + ((digest[16 + feature] ?? 0) & 1 ? 1 : -1);
    }
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
  return vector.map((value) => value / norm);
}

function toBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/** The `/v1/embeddings` answer (OpenAI list format); `base64` encoding as the SDK requests by default. */
export function embeddingsBody(body: Record<string, unknown>): string {
  const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
  const dimensions = typeof body.dimensions === 'number' && body.dimensions > 0 ? body.dimensions : 1536;
  const base64 = body.encoding_format === 'base64';
  const tokens = inputs.reduce((sum, input) => sum + estimateTokens(input), 0);
  return JSON.stringify(
    {
      object: 'list',
      data: inputs.map((input, index) => {
        const vector = embedText(input, dimensions);
        return { object: 'embedding', index, embedding: base64 ? toBase64(vector) : vector };
      }),
      model: typeof body.model === 'string' ? body.model : 'text-embedding-3-small',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    null,
    2,
  );
}
