// The README example as a script with a main() function: the shape that used to exit with code 0 and no
// output at all while the retry slept.
import { bulwark } from './readme-client.mjs';

async function main() {
  const answer = await bulwark.chat(
    { model: 'smart', messages: [{ role: 'user', content: 'Hello' }] },
    { timeoutMs: 60_000 },
  );
  console.log(JSON.stringify({ text: answer.text, attempts: answer.attempts.length }));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
