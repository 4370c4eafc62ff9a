// The send benchmark's receiving end, in a process of its own: an SMTP server on 127.0.0.1 that counts and discards.

import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

let count = 0;
const server = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  disableReverseLookup: true,
  logger: false,
  onData(stream, _session, callback) {
    stream.on('end', () => {
      count += 1;
      callback(null, 'OK');
    });
    stream.resume();
  },
});
// A client that goes away mid-session is not the sink's problem.
server.on('error', () => {});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ count })}\n`);
  process.exit(0);
});
