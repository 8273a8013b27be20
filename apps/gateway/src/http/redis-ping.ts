import { Socket } from 'node:net';

/**
 * Checks that a Redis answers `PING` (after `AUTH` when the URL carries credentials), over a raw
 * socket so the gateway needs no Redis client of its own. Resolves true or false, never throws.
 */
export function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve(false);
  }
  const host = parsed.hostname || '127.0.0.1';
  const port = Number(parsed.port || 6379);
  const commands: string[][] = [];
  const password = decodeURIComponent(parsed.password);
  const username = decodeURIComponent(parsed.username);
  if (password) commands.push(username ? ['AUTH', username, password] : ['AUTH', password]);
  commands.push(['PING']);
  const payload = commands
    .map(
      (args) =>
        `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`,
    )
    .join('');
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = '';
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('error', () => finish(false));
    socket.connect(port, host, () => socket.write(payload));
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (received.startsWith('-')) finish(false);
      else if (received.includes('+PONG')) finish(true);
    });
  });
}
