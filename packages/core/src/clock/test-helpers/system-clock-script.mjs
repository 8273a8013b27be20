// Exercises the built systemClock in a process of its own; prints what fired. Modes:
// `sleep` (a 300 ms sleep is all that is pending), `timer` (a default timer), `unref` (only a
// `{ ref: false }` timer of a minute is pending), `long` (a timer past Node's 24.8-day limit, cancelled).
import { systemClock } from '@bulwark/core';

const mode = process.argv[2];
if (mode === 'sleep') {
  await systemClock.sleep(300);
  console.log('slept');
} else if (mode === 'timer') {
  systemClock.setTimer(300, () => console.log('fired'));
} else if (mode === 'unref') {
  systemClock.setTimer(60_000, () => console.log('fired'), { ref: false });
  console.log('set');
} else if (mode === 'long') {
  let fired = false;
  const cancel = systemClock.setTimer(30 * 24 * 3600 * 1000, () => {
    fired = true;
  });
  systemClock.setTimer(100, () => {
    cancel();
    console.log(fired ? 'fired early' : 'pending');
  });
} else {
  throw new Error(`unknown mode ${mode}`);
}
