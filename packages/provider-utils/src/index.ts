export type { HeaderSource } from './headers.js';
export { getHeader, parseDuration, parseHeaderCount, parseRetryAfter } from './headers.js';
export type { HttpErrorInput } from './http-errors.js';
export { errorFromHttpResponse } from './http-errors.js';
export { describeErrorChain, isConnectionFailure } from './network-errors.js';
export type { NodeFetch, NodeFetchOptions } from './node-fetch.js';
export { createNodeFetch } from './node-fetch.js';
export { waitFromResets } from './rate-limit-headers.js';
