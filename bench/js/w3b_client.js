// The websocket side of bench/w3b_realistic.py: one graphql-transport-ws socket per user, three subscriptions
// on each, and every frame received passed on to the Python driver with the time it arrived.
//
//   node bench/js/w3b_client.js CONFIG.json
//
// CONFIG: {"urls": [ws url per API process], "tokens": [bearer token per user], "subscriptions": {id: query},
//          "handshakes": opened at a time}. User i connects to urls[i % urls.length].
// stdout, one line each: "P <connected> <failed>" while connecting, "X <user>" for a user whose handshake failed
// five times, "READY <connected> <failed>" once every socket has sent its subscriptions or given up, "F <json>"
// batches of frames [user, operation id, epoch ms, payload]
// (operation id "close" for a socket that closed before `stop`, payload {code, reason}), and "BYE" at the end.
// stdin: "stop" closes every socket, flushes and exits.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { urls, tokens, subscriptions } = config;
const handshakes = config.handshakes ?? 100;
const sockets = new Array(tokens.length);
const origin = performance.timeOrigin;
let batch = [];
let connected = 0;
let failed = 0;
let stopping = false;

const now = () => origin + performance.now(); // epoch milliseconds, sub-millisecond resolution

function flush() {
  if (batch.length) {
    process.stdout.write(`F ${JSON.stringify(batch)}\n`);
    batch = [];
  }
}
setInterval(flush, 20).unref();

function open(user) {
  // resolves once the three subscribe messages are sent; rejects when the handshake fails
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(urls[user % urls.length], "graphql-transport-ws", { handshakeTimeout: 120_000 });
    let subscribed = false;
    socket.on("open", () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${tokens[user]}` } }));
    });
    socket.on("message", (raw) => {
      const at = now();
      const message = JSON.parse(raw);
      switch (message.type) {
        case "connection_ack":
          for (const [id, query] of Object.entries(subscriptions)) {
            socket.send(JSON.stringify({ id, type: "subscribe", payload: { query } }));
          }
          subscribed = true;
          sockets[user] = socket;
          resolve();
          break;
        case "ping":
          socket.send('{"type":"pong"}');
          break;
        case "pong":
          break;
        default: // next, error, complete
          batch.push([user, message.id ?? message.type, at, message.type === "next" ? message.payload
            : { [message.type]: message.payload ?? null }]);
          if (batch.length >= 500) flush();
      }
    });
    socket.on("error", (error) => {
      if (!subscribed) reject(error);
    });
    socket.on("close", (code, reason) => {
      if (!subscribed) {
        reject(new Error(`closed ${code} during the handshake`));
      } else if (!stopping) {
        batch.push([user, "close", now(), { code, reason: reason.toString() }]);
      }
    });
  });
}

async function connect(user) {
  for (let attempt = 0; ; attempt++) {
    try {
      await open(user);
      connected++;
      return;
    } catch (error) {
      if (attempt === 4) {
        failed++;
        process.stdout.write(`X ${user}\n`);
        process.stderr.write(`user ${user}: ${error.message}\n`);
        return;
      }
      await new Promise((done) => setTimeout(done, 500 * (attempt + 1)));
    }
  }
}

async function main() {
  let next = 0;
  const progress = setInterval(() => process.stdout.write(`P ${connected} ${failed}\n`), 2000);
  await Promise.all(Array.from({ length: Math.min(handshakes, tokens.length) }, async () => {
    while (next < tokens.length) await connect(next++);
  }));
  clearInterval(progress);
  process.stdout.write(`READY ${connected} ${failed}\n`);
}

function stop() {
  stopping = true;
  flush();
  for (const socket of sockets) socket?.terminate();
  process.stdout.write("BYE\n", () => process.exit(0));
}

process.stdout.on("error", () => process.exit(1)); // the driver is gone
createInterface({ input: process.stdin })
  .on("line", (line) => line.trim() === "stop" && stop())
  .on("close", () => stopping || stop());

main();
