// The README example as a script: top-level await. Before calls in flight kept the process alive, the
// retry's backoff let Node exit with code 13 (unsettled top-level await) before the answer arrived.
import { bulwark } from './readme-client.mjs';

const answer = await bulwark.chat(
  { model: 'smart', messages: [{ role: 'user', content: 'Hello' }] },
  { timeoutMs: 60_000 },
);
console.log(JSON.stringify({ text: answer.text, attempts: answer.attempts.length }));
