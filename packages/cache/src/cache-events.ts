import type { CallEventBase } from '@bulwark/core';

declare module '@bulwark/core' {
  interface BulwarkEventMap {
    /** A call joined an identical call already in flight instead of calling the provider. */
    'cache:coalesced': CallEventBase & { key: string; stream: boolean };
  }
}
