import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// The provider's whole suite against another release of its SDK peer: `BULWARK_SDK_PACKAGE` names an aliased
// dev dependency (the oldest and the newest of the peer range), which replaces `@anthropic-ai/sdk` for this run.
const sdkPackage = process.env.BULWARK_SDK_PACKAGE;
if (!sdkPackage) throw new Error('BULWARK_SDK_PACKAGE must name the aliased SDK package to test against');

export default mergeConfig(
  shared,
  defineConfig({
    resolve: { alias: [{ find: /^@anthropic-ai\/sdk$/, replacement: sdkPackage }] },
    // The whole suite; the type tests run once, against the pinned SDK.
    test: { typecheck: { enabled: false } },
  }),
);
