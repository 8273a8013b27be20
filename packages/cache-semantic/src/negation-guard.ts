/** Words that flip the meaning of a question while barely moving its embedding. */
const negations = new Set([
  'not',
  'no',
  'never',
  'none',
  'nobody',
  'nothing',
  'neither',
  'nor',
  'without',
  'cannot',
  'isnt',
  'arent',
  'wasnt',
  'werent',
  'dont',
  'doesnt',
  'didnt',
  'wont',
  'wouldnt',
  'cant',
  'couldnt',
  'shouldnt',
  'hasnt',
  'havent',
  'except',
]);

function negationCount(text: string): number {
  let count = 0;
  for (const word of text
    .toLowerCase()
    .replace(/[’']/g, '')
    .match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (negations.has(word)) count += 1;
  }
  return count;
}

/**
 * The default guard: a near match is accepted only when both messages are negated the same way
 * ("Is X safe?" never answers "Is X not safe?", which embeds close to it). English only; it lowers, but
 * does not remove, the risk of serving the answer to a different question.
 */
export function sameNegation(query: string, candidate: string): boolean {
  return negationCount(query) % 2 === negationCount(candidate) % 2;
}
