import type { ChatRequest, TextPart, UserContentPart } from '../types/chat-request.js';

/**
 * Counts tokens, version 1 of the contract. The limiter charges with it, usage sizes budget
 * reservations and cut-stream estimates with it, and the gateway's `count_tokens` answers with it, so
 * every part of Bulwark agrees on how long a text is. {@link fastTokenEstimator} is the default; a
 * tokenizer-backed one (`loadO200kTokenEstimator()` in `@bulwark/usage`) plugs in where exact counts matter.
 */
export interface TokenEstimatorV1 {
  readonly specificationVersion: 'v1';
  /** Short name for logs and docs, e.g. `fast` or `o200k`. */
  readonly name: string;
  /** `true` when counts come from a real tokenizer, `false` for a heuristic. */
  readonly exact: boolean;
  /** Tokens in `text`; 0 for the empty string. */
  countText(text: string): number;
}

/** The current version of the token estimator contract. */
export type TokenEstimator = TokenEstimatorV1;

/** Tokens counted once per request for the reply priming (OpenAI's chat framing). */
export const requestFramingTokens = 3;
/** Tokens counted per message for the role and separators (OpenAI's chat framing). */
export const messageFramingTokens = 3;
/** An image at OpenAI's high-detail 1024×1024 tile set unless it says `low`. */
export const imageTokens = 765;
/** An image sent with `detail: 'low'`: one tile. */
export const lowDetailImageTokens = 85;

/** A file sent by URL or file id, whose content the estimator cannot see. */
export const unseenFileTokens = 1000;

/** Long runs of base64/hex/identifier characters mixing letters and digits: keys, hashes, inlined binary. */
const denseRun = /[A-Za-z0-9+/=_-]{24,}/g;
const hasDigit = /[0-9]/;
const hasLetter = /[A-Za-z]/;

/*
 * Characters per token (or tokens per character) by script, fitted against OpenAI's o200k tokenizer on
 * the samples in `token-estimator.calibration.test.ts` (each within ±25 %).
 */
const charactersPerDenseToken = 1.5;
const charactersPerWordToken = 4.3;
const tokensPerPunctuation = 0.5;
const charactersPerExtendedToken = 4.2;
const tokensPerHan = 0.7;
const tokensPerKana = 0.75;
const tokensPerHangul = 0.6;

/**
 * The fast default: a single pass over the text that weighs each character by its script — ASCII words at
 * 4.3 characters a token, ASCII punctuation at half a token, Latin-extended/Greek/Cyrillic at 4.2, Chinese
 * characters at 0.7 tokens, kana at 0.75, Hangul at 0.6, any other character at one, and long runs mixing
 * letters and digits (base64, hex) at 1.5 characters a token. Measured against o200k: English, code,
 * Chinese, Japanese, Korean, Russian, German, French, base64 and hex all within ±25 %.
 */
export function estimateTextTokens(text: string): number {
  if (text.length === 0) return 0;
  let tokens = 0;
  let words = 0;
  let punctuation = 0;
  let extended = 0;
  let han = 0;
  let kana = 0;
  let hangul = 0;
  let other = 0;
  const count = (segment: string) => {
    for (let index = 0; index < segment.length; index += 1) {
      const code = segment.charCodeAt(index);
      if (code < 128) {
        if ((code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122))
          words += 1;
        else if (code !== 32 && code !== 10 && code !== 9 && code !== 13) punctuation += 1;
      } else if (code < 0x800) extended += 1;
      else if (code >= 0x3040 && code <= 0x30ff) kana += 1;
      else if (
        (code >= 0x4e00 && code <= 0x9fff) ||
        (code >= 0x3400 && code <= 0x4dbf) ||
        (code >= 0xf900 && code <= 0xfaff)
      )
        han += 1;
      else if (code >= 0xac00 && code <= 0xd7af) hangul += 1;
      else if (code >= 0xd800 && code <= 0xdbff) {
        // A surrogate pair (emoji, rare ideographs) counts once.
        other += 1;
        index += 1;
      } else other += 1;
    }
  };
  let last = 0;
  for (const match of text.matchAll(denseRun)) {
    const run = match[0];
    if (!hasDigit.test(run) || !hasLetter.test(run)) continue;
    count(text.slice(last, match.index));
    tokens += run.length / charactersPerDenseToken;
    last = match.index + run.length;
  }
  count(text.slice(last));
  tokens +=
    words / charactersPerWordToken +
    punctuation * tokensPerPunctuation +
    extended / charactersPerExtendedToken +
    han * tokensPerHan +
    kana * tokensPerKana +
    hangul * tokensPerHangul +
    other;
  return Math.max(1, Math.ceil(tokens));
}

/** The fast, dependency-free default estimator ({@link estimateTextTokens}). */
export const fastTokenEstimator: TokenEstimatorV1 = {
  specificationVersion: 'v1',
  name: 'fast',
  exact: false,
  countText: estimateTextTokens,
};

/**
 * Input tokens of `request`: every message's text, tool calls and tool results counted with `estimator`,
 * plus OpenAI's chat framing ({@link messageFramingTokens} per message, {@link requestFramingTokens} per
 * request), images at a fixed count, inline files by their decoded size (4.3 bytes a token), tool definitions and the response schema by their JSON text.
 */
export function countRequestTokens(
  request: Pick<ChatRequest, 'messages' | 'tools' | 'responseFormat'>,
  estimator: TokenEstimatorV1 = fastTokenEstimator,
): number {
  const text = (value: string) => estimator.countText(value);
  const parts = (content: ReadonlyArray<TextPart | UserContentPart>) => {
    let sum = 0;
    for (const part of content) {
      if (part.type === 'text') sum += text(part.text);
      else if (part.type === 'image') sum += part.detail === 'low' ? lowDetailImageTokens : imageTokens;
      else if (part.data !== undefined) sum += Math.ceil((part.data.length * 3) / 4 / charactersPerWordToken);
      else sum += unseenFileTokens;
    }
    return sum;
  };
  let tokens = requestFramingTokens;
  for (const message of request.messages) {
    tokens += messageFramingTokens;
    const content = message.content;
    if (typeof content === 'string') tokens += text(content);
    else if (content) tokens += parts(content);
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) tokens += text(call.name) + text(call.arguments) + 3;
      for (const block of message.reasoning ?? []) if (block.type === 'reasoning') tokens += text(block.text);
    }
    if (message.role === 'user' && message.name) tokens += text(message.name) + 1;
  }
  for (const tool of request.tools ?? []) {
    tokens += text(tool.name) + text(tool.description ?? '') + text(JSON.stringify(tool.parameters));
  }
  if (request.responseFormat?.type === 'json_schema')
    tokens += text(JSON.stringify(request.responseFormat.schema));
  return tokens;
}
