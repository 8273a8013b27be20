import {
  type CacheStatus,
  type CallContext,
  type ChatRequest,
  type ChatResponse,
  fastTokenEstimator,
  type StreamEvent,
  type TokenEstimatorV1,
  type Usage,
} from '@bulwark/core';
import { type PriceTable, roundUsd } from './price-table.js';
import { estimateUsage } from './token-estimate.js';

/** One attempt that consumed tokens, and what it cost. */
export interface AttemptCost {
  /** Configured provider instance. */
  provider: string;
  model: string;
  /** 1-based attempt number on this target (0 when the attempt never made it into the trail). */
  attempt: number;
  usage: Usage;
  /** USD; `undefined` when the model has no price (never silently 0). */
  costUsd?: number;
  /** The attempt failed but the provider billed it. */
  failed: boolean;
}

/** Everything one call consumed: the basis of `response.costUsd`, the `usage:recorded` event and budgets. */
export interface CallAccount {
  /** Every attempt that consumed tokens, each once, in order. Empty for a cache hit. */
  attempts: AttemptCost[];
  /** Sum of the attempts' usage. `estimated` when any attempt's usage was estimated. */
  usage: Usage;
  /**
   * Total USD of the call, failed-but-billed attempts included; 0 for a cache hit; `undefined` when
   * some attempt that consumed tokens has no price (see `unpriced`).
   */
  costUsd?: number;
  /** Sum of the attempts that do have a price (a lower bound when `unpriced` is not empty). */
  pricedCostUsd: number;
  /** `provider/model` of attempts whose cost is unknown. */
  unpriced: string[];
  cache?: CacheStatus;
  /** For a cache hit: what the cached answer cost when it was made, i.e. the money saved. */
  savedUsd?: number;
  /** True when any attempt's usage was estimated (an aborted or cut stream). */
  estimated: boolean;
}

/**
 * Watches the events of a streamed call as they pass, to account for the attempt that was delivering
 * output when the stream ended without a usage report (aborted, cut, consumer stopped early).
 */
export class StreamWatch {
  /** `context.trail.length` when the delivering attempt's preamble arrived: its record, if any, comes after. */
  committedIndex = -1;
  provider = '';
  model = '';
  cache: CacheStatus | undefined;
  outputCharacters = 0;
  /** The output text and tool-call text received, for an estimate when no usage report comes. */
  outputText = '';
  usage: Usage | undefined;

  constructor(private readonly context: CallContext) {}

  add(event: StreamEvent): void {
    switch (event.type) {
      case 'start':
        this.committedIndex = this.context.trail.length;
        this.provider = event.provider;
        this.model = event.model;
        this.cache = event.cache;
        break;
      case 'text-delta':
        this.outputCharacters += event.text.length;
        this.outputText += event.text;
        break;
      case 'tool-call-delta':
        this.outputCharacters += event.argumentsDelta.length + (event.name?.length ?? 0);
        this.outputText += (event.name ?? '') + event.argumentsDelta;
        break;
      case 'wire':
        // A passthrough frame: `text` is what the provider's tap read in it.
        if (event.text) {
          this.outputCharacters += event.text.length;
          this.outputText += event.text;
        }
        break;
      case 'usage':
        this.usage = event.usage;
        break;
      default:
        break;
    }
  }
}

const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

/**
 * Accounts for one call from `context.trail` (one record per real provider attempt, with the usage the
 * provider reported, failures included) plus, for streams, the watch. Each attempt is counted once.
 * A cache hit costs nothing and reports the saving instead.
 */
export function accountCall(
  prices: PriceTable,
  request: ChatRequest,
  context: CallContext,
  outcome: { response?: ChatResponse; watch?: StreamWatch },
  estimator: TokenEstimatorV1 = fastTokenEstimator,
): CallAccount {
  const cache = outcome.response?.cache ?? outcome.watch?.cache;
  const account: CallAccount = {
    attempts: [],
    usage: emptyUsage(),
    pricedCostUsd: 0,
    unpriced: [],
    estimated: false,
  };
  if (cache) account.cache = cache;
  if (cache === 'hit') {
    const response = outcome.response;
    const watch = outcome.watch;
    const provider = response?.provider ?? watch?.provider ?? '';
    const model = response?.model ?? watch?.model ?? request.model;
    const saved = prices.cost(response?.usage ?? watch?.usage, prices.priceOf(provider, model));
    if (saved !== undefined) account.savedUsd = saved;
    account.costUsd = 0;
    return account;
  }
  const trail = context.trail;
  for (const record of trail) {
    if (record.local || !record.usage) continue;
    add(account, prices, {
      provider: record.provider,
      model: record.model,
      attempt: record.attempt,
      usage: record.usage,
      failed: record.error !== undefined,
    });
  }
  const response = outcome.response;
  const answering = trail.at(-1);
  if (response && answering && !answering.local && answering.error === undefined && !answering.usage) {
    // The provider answered without reporting usage: estimate rather than count it as free.
    let output = response.text;
    for (const call of response.toolCalls) output += call.name + call.arguments;
    add(account, prices, {
      provider: answering.provider,
      model: answering.model,
      attempt: answering.attempt,
      usage: estimateUsage(request, output, estimator),
      failed: false,
    });
  }
  const watch = outcome.watch;
  if (watch && watch.committedIndex >= 0) {
    let recorded = false;
    for (let index = watch.committedIndex; index < trail.length; index += 1) {
      const record = trail[index]!;
      if (record.usage && !record.local && record.provider === watch.provider) recorded = true;
    }
    if (!recorded) {
      // The delivering attempt never reached the trail with usage: the consumer stopped early, the
      // caller aborted or the stream was cut before the provider's usage report.
      add(account, prices, {
        provider: watch.provider,
        model: watch.model,
        attempt: 0,
        usage: watch.usage ?? estimateUsage(request, watch.outputText, estimator),
        failed: false,
      });
    }
  }
  if (account.unpriced.length === 0) account.costUsd = roundUsd(account.pricedCostUsd);
  account.pricedCostUsd = roundUsd(account.pricedCostUsd);
  return account;
}

function add(account: CallAccount, prices: PriceTable, attempt: Omit<AttemptCost, 'costUsd'>): void {
  const cost = prices.cost(attempt.usage, prices.priceOf(attempt.provider, attempt.model));
  const entry: AttemptCost = cost === undefined ? attempt : { ...attempt, costUsd: cost };
  account.attempts.push(entry);
  const total = account.usage;
  const usage = attempt.usage;
  total.inputTokens += usage.inputTokens;
  total.outputTokens += usage.outputTokens;
  total.totalTokens += usage.totalTokens;
  if (usage.cachedInputTokens)
    total.cachedInputTokens = (total.cachedInputTokens ?? 0) + usage.cachedInputTokens;
  if (usage.cacheWriteTokens) total.cacheWriteTokens = (total.cacheWriteTokens ?? 0) + usage.cacheWriteTokens;
  if (usage.estimated) {
    total.estimated = true;
    account.estimated = true;
  }
  if (cost === undefined) {
    const name = `${attempt.provider}/${attempt.model}`;
    if (!account.unpriced.includes(name)) account.unpriced.push(name);
  } else {
    account.pricedCostUsd += cost;
  }
}
