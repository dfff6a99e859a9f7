#!/usr/bin/env node
// A demo backend for the README walkthrough: an HTTP server on one DIP:port that answers every
// request with its name and address, so you can see which VM and service a VIP sent you to.
//
//   node scripts/demo-backend.mjs 127.0.0.11:8081 vm1     →  "vm1 on 127.0.0.11:8081"
//
// No dependencies, so it runs from a fresh clone before `npm install`.

import http from "node:http";

const [listen, name] = process.argv.slice(2);
const m = /^(.+):(\d+)$/.exec(listen ?? "");
if (!m || !name) {
  process.stderr.write("usage: node scripts/demo-backend.mjs HOST:PORT NAME\n");
  process.exit(2);
}
const [, host, port] = m;
const answer = `${name} on ${host}:${port}\n`;

const server = http.createServer((req, res) => {
  res.setHeader("content-type", "text/plain");
  res.end(answer);
});
server.on("error", (err) => {
  process.stderr.write(`demo-backend ${name}: ${err.message}\n`);
  process.exit(1);
});
server.listen(Number(port), host, () => process.stdout.write(`${answer.trim()}: listening\n`));

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
