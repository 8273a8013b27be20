const unsafeCharacter = /[^\x20-\x24\x26-\x7e]/u;
const unsafeCharacters = /[^\x20-\x24\x26-\x7e]/gu;

/**
 * A header value that `node:http` always accepts, from text a client or an upstream chose (a model
 * name in `x-bulwark-target`): printable ASCII stays as is; `%` and everything else (controls,
 * non-ASCII; a lone surrogate as U+FFFD) is percent-encoded as UTF-8, so `decodeURIComponent` gives
 * the text back. A value that is already safe comes back unchanged.
 */
export function safeHeaderValue(text: string): string {
  return unsafeCharacter.test(text) ? text.replace(unsafeCharacters, encodeCharacter) : text;
}

function encodeCharacter(character: string): string {
  // encodeURIComponent throws on a lone surrogate (with the `u` flag it matches as one character).
  const lone = character.length === 1 && (character.charCodeAt(0) & 0xf800) === 0xd800;
  return encodeURIComponent(lone ? '\ufffd' : character);
}
