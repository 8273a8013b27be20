// Preloaded (`node --import`) into the Portkey gateway process: its start-server.js calls
// `serve({ fetch, port })` without a hostname, which would bind every interface. This makes any
// listen() that names a port but no host bind 127.0.0.1 only.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  if (typeof args[0] === 'number' && (args[1] === undefined || typeof args[1] === 'function'))
    args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
  else if (
    args[0] !== null &&
    typeof args[0] === 'object' &&
    args[0].host === undefined &&
    args[0].path === undefined
  )
    args[0] = { ...args[0], host: '127.0.0.1' };
  return listen.apply(this, args);
};
