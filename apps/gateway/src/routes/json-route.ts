import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Bulwark,
  type BulwarkError,
  type CallOptions,
  type Clock,
  InvalidRequestError,
  PermissionDeniedError,
  toBulwarkError,
} from '@bulwark/core';
import type { ClientFormat } from '../formats/client-format.js';
import { type ApiKeyChecker, authorizeApiCall, type PriorityRange } from '../http/api-keys.js';
import { readJsonBody } from '../http/read-body.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import type { RequestLog } from '../request-log/request-log.js';

/** What a JSON route needs of the request handler. */
export interface JsonRouteHost {
  /** Resolves model names for a key's `models` check. */
  bulwark?: Bulwark | undefined;
  /** One JSON line per request; tokens and cost come from the call's `usage:recorded`. */
  requestLog?: RequestLog | undefined;
  metrics?: GatewayMetrics | undefined;
  auth?: ApiKeyChecker | undefined;
  bodyLimit: number;
  bodyIdleTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
  clock?: Clock | undefined;
  isDraining: () => boolean;
  track: (response: ServerResponse, active: boolean, cut?: (error: BulwarkError) => void) => void;
  /** Answers `thrown` in `format`'s error shape; returns the status. */
  fail(format: ClientFormat, response: ServerResponse, thrown: unknown): number;
  /** The `x-bulwark-*` headers as call options (a bad value throws an `InvalidRequestError`). */
  callOptionsFrom(
    request: IncomingMessage,
    tenant: string | undefined,
    signal: AbortSignal,
    priorityRange?: PriorityRange,
  ): CallOptions;
}

/** A route's work once the body is read and parsed: answers `response`, returns the status and the model. */
export type JsonRoute = (
  json: Record<string, unknown>,
  callOptions: CallOptions,
  response: ServerResponse,
  request: IncomingMessage,
) => Promise<{ status: number; model: string }>;

/**
 * Runs a JSON POST route the way the chat routes run: the key checked (role `api`), the body read within
 * the limits and parsed (depth-bounded), the call tracked for the drain (a cut answers the cut's error),
 * errors answered in `format`'s shape, the request counted in the metrics.
 */
export async function runJsonRoute(
  host: JsonRouteHost,
  format: ClientFormat,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
  route: JsonRoute,
): Promise<void> {
  const started = performance.now();
  let status = 200;
  let model = 'unknown';
  const controller = new AbortController();
  const onClose = (): void => {
    if (!response.writableFinished) controller.abort(new Error('client disconnected'));
  };
  response.once('close', onClose);
  let cutBy: BulwarkError | undefined;
  host.track(response, true, (error) => {
    cutBy ??= error;
    controller.abort(error);
  });
  host.metrics?.requestStarted();
  if (host.isDraining()) response.setHeader('connection', 'close');
  const logged = host.requestLog?.begin(path, format.name);
  try {
    const { tenant, priorityRange, allowed } = authorizeApiCall(host.auth, request, path);
    if (logged) logged.tenant = tenant;
    const json = await readJsonBody(request, {
      limit: host.bodyLimit,
      idleTimeoutMs: host.bodyIdleTimeoutMs ?? 0,
      totalTimeoutMs: host.requestTimeoutMs ?? 0,
      ...(host.clock ? { clock: host.clock } : {}),
      signal: controller.signal,
    });
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new InvalidRequestError({ field: 'body', message: 'Request body must be a JSON object' });
    }
    const record = json as Record<string, unknown>;
    if (typeof record.model === 'string') model = record.model;
    // A key limited to some models names one of them, on every route.
    if (allowed && host.bulwark && !(typeof record.model === 'string' && allowed(record.model, host.bulwark)))
      throw new PermissionDeniedError({
        local: true,
        message: `This key may not use model ${JSON.stringify(model.length > 40 ? `${model.slice(0, 40)}…` : model)}`,
      });
    const callOptions = host.callOptionsFrom(request, tenant, controller.signal, priorityRange);
    if (logged) {
      logged.alias = model;
      callOptions.callId = logged.id;
    }
    ({ status, model } = await route(record, callOptions, response, request));
  } catch (thrown) {
    if (logged) logged.error = toBulwarkError(cutBy ?? thrown);
    if (cutBy) status = host.fail(format, response, cutBy);
    else if (controller.signal.aborted) status = 499;
    else status = host.fail(format, response, thrown);
  } finally {
    response.off('close', onClose);
    logged?.end(status);
    host.track(response, false);
    host.metrics?.requestEnded();
    host.metrics?.observeRequest(format.name, model, status, false, (performance.now() - started) / 1000);
  }
}

/** Writes a JSON answer (nothing when the response already started or closed). */
export function sendJsonAnswer(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    ...headers,
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
