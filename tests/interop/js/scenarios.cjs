// Stock GraphQL clients (Apollo Client, graphql-ws with ws) driven by tests/interop.
//
// Usage: node scenarios.cjs <scenario>. The first stdin line is the scenario's JSON config (URLs, tokens, ids);
// later lines are signals from pytest ({"go": true}, {"expect": {...}}). The script prints one JSON line with
// what the client saw and exits; it gives up after config.timeoutMs with {"timedOut": true, ...} and exit code 3.
"use strict";

const readline = require("node:readline");
const crypto = require("node:crypto");
const WebSocket = require("ws");
const { createClient } = require("graphql-ws");
const { ApolloClient, InMemoryCache, HttpLink, split, gql } = require("@apollo/client/core");
const { GraphQLWsLink } = require("@apollo/client/link/subscriptions");
const { createPersistedQueryLink } = require("@apollo/client/link/persisted-queries");
const { getMainDefinition } = require("@apollo/client/utilities");

const lines = [];
const waiting = [];
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const value = JSON.parse(line);
  const next = waiting.shift();
  if (next) next(value);
  else lines.push(value);
});

function nextLine() {
  return lines.length ? Promise.resolve(lines.shift()) : new Promise((resolve) => waiting.push(resolve));
}

const progress = {}; // what a scenario saw so far, reported if it times out

function finish(result, code = 0) {
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(code));
}

function sha256(text) {
  return crypto.createHash("sha256").update(text).digest("hex");
}

// A fetch that records what each request carried (the client still uses the platform's fetch unchanged).
function recordingFetch(log) {
  return async (url, options) => {
    const method = (options && options.method) || "GET";
    let sent = {};
    if (method === "GET") {
      const params = new URL(url).searchParams;
      sent = { query: params.get("query"), extensions: params.get("extensions") && JSON.parse(params.get("extensions")) };
    } else {
      sent = JSON.parse(options.body);
    }
    const persisted = sent.extensions && sent.extensions.persistedQuery;
    log.push({ method, operationName: sent.operationName || null, hasQuery: typeof sent.query === "string",
               sha256Hash: persisted ? persisted.sha256Hash : null });
    return fetch(url, options);
  };
}

function httpLink(config, token, log) {
  return new HttpLink({ uri: config.httpUrl, headers: { Authorization: `Bearer ${token}` },
                        fetch: recordingFetch(log) });
}

function apollo(link) {
  return new ApolloClient({ link, cache: new InMemoryCache(), defaultOptions: {
    query: { fetchPolicy: "network-only", errorPolicy: "all" }, mutate: { errorPolicy: "all" } } });
}

function plain(value) {
  return JSON.parse(JSON.stringify(value === undefined ? null : value));
}

function outcome(result) {
  return { data: plain(result.data), errors: plain(result.errors || []) };
}

const REQUEST = gql`mutation Request($input: RequestSessionInput!) { requestSession(input: $input) {
  __typename ... on SessionSuccess { session { id status } } ... on UserError { code message } } }`;
const CONFIRM = gql`mutation Confirm($input: SessionActionInput!) { confirmSession(input: $input) {
  __typename ... on SessionSuccess { session { id status } } ... on UserError { code message } } }`;
const SESSION = gql`query Session($id: ID!) { session(id: $id) { id status startsAt } }`;

const scenarios = {
  // (a) Apollo HttpLink: a mutation as the member, one as the provider, then a query; Authorization headers.
  async "apollo-http"(config) {
    const log = [];
    const member = apollo(httpLink(config, config.memberToken, log));
    const provider = apollo(httpLink(config, config.providerToken, log));
    const requested = await member.mutate({ mutation: REQUEST, variables: { input: config.request } });
    const id = requested.data && requested.data.requestSession.session && requested.data.requestSession.session.id;
    const confirmed = await provider.mutate({ mutation: CONFIRM, variables: { input: { sessionId: id } } });
    const read = await member.query({ query: SESSION, variables: { id } });
    const anonymous = await apollo(new HttpLink({ uri: config.httpUrl })).query({ query: SESSION,
                                                                                    variables: { id } });
    return { requested: outcome(requested), confirmed: outcome(confirmed), read: outcome(read),
             anonymous: outcome(anonymous), requests: log };
  },

  // (b) graphql-ws: several subscriptions on one socket; pytest acts, then says how many events to expect.
  async "graphql-ws-streams"(config) {
    const sockets = [];
    const client = createClient({ url: config.wsUrl, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0,
                                  connectionParams: { authorization: `Bearer ${config.token}` },
                                  on: { opened: (socket) => sockets.push(socket) } });
    const received = (progress.received = {});
    const problems = (progress.problems = []);
    let expected = null;
    let done;
    const allThere = new Promise((resolve) => { done = resolve; });
    const check = () => {
      if (expected && Object.entries(expected).every(([name, count]) => received[name].length >= count)) done();
    };
    for (const [name, query] of Object.entries(config.subscriptions)) {
      received[name] = [];
      client.subscribe({ query, variables: (config.variables || {})[name] }, {
        next: (result) => {
          if (result.errors) problems.push({ stream: name, errors: result.errors });
          if (result.data) received[name].push(result.data[name]);
          check();
        },
        error: (error) => { problems.push({ stream: name, error: String(error && (error.message || error.reason || JSON.stringify(error))) }); done(); },
        complete: () => { problems.push({ stream: name, complete: true }); done(); },
      });
    }
    expected = (await nextLine()).expect;
    check();
    await allThere;
    await client.dispose();
    return { received, problems, sockets: sockets.length };
  },

  // (c) Apollo with split: subscriptions over GraphQLWsLink, everything else over HttpLink (config.persisted:
  // behind Apollo's persisted-query link, which hashes both; GraphQLWsLink always sends the document too).
  async "apollo-split"(config) {
    const log = [];
    const sockets = [];
    const wsClient = createClient({ url: config.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0,
                                    connectionParams: { authorization: `Bearer ${config.memberToken}` },
                                    on: { opened: (socket) => sockets.push(socket) } });
    const link = split(({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    }, new GraphQLWsLink(wsClient), httpLink(config, config.memberToken, log));
    const client = apollo(config.persisted ? createPersistedQueryLink({ sha256 }).concat(link) : link);
    const events = (progress.events = []);
    const problems = (progress.problems = []);
    let done;
    const allThere = new Promise((resolve) => { done = resolve; });
    const subscription = client.subscribe({ query: gql(config.subscription) }).subscribe({
      next: (result) => {
        if (result.errors) problems.push(plain(result.errors));
        if (result.data) events.push(plain(result.data.sessionEvents));
        if (events.length >= config.expect) done();
      },
      error: (error) => { problems.push(String(error.message || error)); done(); },
    });
    await nextLine(); // pytest saw the subscription arrive on the server
    const requested = await client.mutate({ mutation: REQUEST, variables: { input: config.request } });
    await allThere;
    subscription.unsubscribe();
    await wsClient.dispose();
    return { requested: outcome(requested), events, problems, requests: log, sockets: sockets.length };
  },

  // (e) Apollo's persisted-query link over HttpLink (POST, or GET for hashed queries), twice the same query.
  async "apollo-persisted"(config) {
    const log = [];
    const link = createPersistedQueryLink({ sha256, useGETForHashedQueries: config.useGET })
      .concat(httpLink(config, config.token, log));
    const client = apollo(link);
    const query = gql(config.query);
    const first = await client.query({ query });
    const second = await client.query({ query });
    return { first: outcome(first), second: outcome(second), requests: log };
  },
};

async function main() {
  const name = process.argv[2];
  const scenario = scenarios[name];
  if (!scenario) return finish({ error: `no scenario ${name}` }, 2);
  const config = await nextLine();
  const timer = setTimeout(() => finish({ timedOut: true, scenario: name, progress }, 3), config.timeoutMs || 20000);
  try {
    const result = await scenario(config);
    clearTimeout(timer);
    finish(result);
  } catch (error) {
    clearTimeout(timer);
    finish({ error: String((error && error.stack) || error) }, 1);
  }
}

main();
