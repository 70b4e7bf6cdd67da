// Starts GraphiQL with the files this service serves: queries and mutations are POSTed to this page's own
// address, subscriptions go over a websocket to the same address (graphql-transport-ws, the graphql-ws client
// bundled in GraphiQL). The JSON in the Headers editor is sent as HTTP headers and, for subscriptions, as the
// connection_init payload, so {"Authorization": "Bearer <token>"} authenticates both.
//
// The fragment may preset the editors, e.g. /graphql#query=...&variables=...&headers=... (URL-encoded). A
// fragment never reaches the server, so a token in it stays out of access logs.
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  if (typeof window.React === "undefined" || typeof window.ReactDOM === "undefined" ||
      typeof window.GraphiQL === "undefined") {
    root.textContent = "GraphiQL's files did not load; see the browser console.";
    return;
  }
  var endpoint = window.location.origin + window.location.pathname;
  var socket = new URL(endpoint);
  socket.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  var preset = new URLSearchParams(window.location.hash.replace(/^#/, ""));

  var send = window.GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: socket.href,
    enableIncrementalDelivery: false
  });
  // GraphiQL re-parses the editor 100 ms after the last edit and hands the fetcher that parse, from which the
  // fetcher decides between HTTP and the websocket. A run within those 100 ms (paste, then Ctrl-Enter) would
  // send a subscription over HTTP, so decide from the text actually sent.
  function fetcher(params, options) {
    var documentAST = options && options.documentAST;
    try {
      documentAST = window.GraphiQL.GraphQL.parse(params.query);
    } catch (error) {
      // not valid GraphQL: the server answers with the syntax error
    }
    return send(params, Object.assign({}, options, { documentAST: documentAST }));
  }

  var props = {
    fetcher: fetcher,
    defaultQuery: [
      "# Set your token in the Headers tab below, e.g.",
      "#   {\"Authorization\": \"Bearer <token from `sessions-gql token`>\"}",
      "# then run (Ctrl-Enter):",
      "",
      "{",
      "  serverTime",
      "  viewer { user { displayName role } }",
      "}",
      ""
    ].join("\n"),
    shouldPersistHeaders: false
  };
  if (preset.has("query")) props.query = preset.get("query");
  if (preset.has("variables")) props.variables = preset.get("variables");
  if (preset.has("headers")) {
    props.headers = preset.get("headers");
    props.defaultEditorToolsVisibility = "headers";
  }
  window.ReactDOM.createRoot(root).render(window.React.createElement(window.GraphiQL, props));
})();
