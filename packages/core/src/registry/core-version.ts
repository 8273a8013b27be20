/**
 * This package's version, checked against a plugin's `coreRange`. Kept equal to package.json's
 * `version` by `scripts/sync-core-version.mjs` (run by `pnpm version-packages`); a test fails when
 * they differ. A constant rather than a JSON import so core loads without a file read or import attributes.
 */
export const coreVersion = '0.1.0';
