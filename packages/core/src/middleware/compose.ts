import { ConfigError, MiddlewareError } from '../errors/errors.js';
import {
  type CompleteHandler,
  type Handler,
  type MiddlewareV1,
  middlewareLevel,
  type StreamHandler,
  stageOrder,
} from './middleware.js';

/**
 * Checks that middleware stand in the documented order (see `MiddlewareStage`); throws `ConfigError`
 * naming the two that are swapped. `custom` middleware are not checked.
 */
export function assertMiddlewareOrder(middleware: readonly MiddlewareV1[]): void {
  let previous: MiddlewareV1 | undefined;
  for (const [index, current] of middleware.entries()) {
    if (current.specificationVersion !== 'v1') {
      throw new ConfigError({
        path: `middleware[${index}]`,
        message: `middleware[${index}] (${current.name}) has specificationVersion ${String(current.specificationVersion)}; expected "v1"`,
      });
    }
    const stage = current.stage ?? 'custom';
    if (stage === 'custom') continue;
    if (previous) {
      const previousStage = previous.stage as Exclude<typeof stage, 'custom'>;
      const before = stageOrder[previousStage];
      const here = stageOrder[stage];
      const levelRank = (level: string) => (level === 'call' ? 0 : 1);
      if (levelRank(here.level) * 1000 + here.rank < levelRank(before.level) * 1000 + before.rank) {
        throw new ConfigError({
          path: `middleware[${index}]`,
          message: `middleware "${current.name}" (stage ${stage}) must be outside "${previous.name}" (stage ${previousStage}); the order, outermost first, is observe → cache → coalesce → budget → deadline → router → retry|hedge → breaker → limiter → timeout → provider`,
        });
      }
    }
    previous = current;
  }
}

function onceGuard<F extends (...args: never[]) => unknown>(middleware: MiddlewareV1, next: F): F {
  let called = false;
  return ((...args: Parameters<F>) => {
    if (called) {
      throw new MiddlewareError({
        message: `middleware "${middleware.name}" called next() twice; declare reentrant: true if it means to (retry, hedge)`,
      });
    }
    called = true;
    return next(...args);
  }) as F;
}

/**
 * Wraps `inner` in `middleware`, the first outermost (as in vercel/ai's wrapLanguageModel and Polly's
 * PolicyWrap). A middleware without `complete` or `stream` passes that path through untouched.
 */
export function compose(middleware: readonly MiddlewareV1[], inner: Handler): Handler {
  let complete: CompleteHandler = inner.complete;
  let stream: StreamHandler = inner.stream;
  for (let index = middleware.length - 1; index >= 0; index -= 1) {
    const layer = middleware[index]!;
    if (layer.complete) {
      const next = complete;
      const run = layer.complete.bind(layer);
      complete = layer.reentrant
        ? (request, context) => run(request, context, next)
        : (request, context) => run(request, context, onceGuard(layer, next));
    }
    if (layer.stream) {
      const next = stream;
      const run = layer.stream.bind(layer);
      stream = layer.reentrant
        ? (request, context) => run(request, context, next)
        : (request, context) => run(request, context, onceGuard(layer, next));
    }
  }
  return { complete, stream };
}

/** Splits a flat middleware list into the call-level and target-level parts, keeping order. */
export function splitByLevel(middleware: readonly MiddlewareV1[]): {
  call: MiddlewareV1[];
  target: MiddlewareV1[];
} {
  const call: MiddlewareV1[] = [];
  const target: MiddlewareV1[] = [];
  for (const layer of middleware) (middlewareLevel(layer) === 'call' ? call : target).push(layer);
  return { call, target };
}
