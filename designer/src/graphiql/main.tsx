// The GraphQL explorer (GraphiQL), built with the web app and served from its assets: no CDN.
// It sends the token of the web app's session (log in at /workflow_orchestration/ first), or the one
// pasted in its Headers tab.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import { createRoot } from "react-dom/client";
import { getToken } from "../lib/api";

const token = getToken();
const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
const fetcher = createGraphiQLFetcher({ url: "/api/beta/graphql", headers });
const defaultQuery = `# wfo GraphQL (${token ? "signed in" : "not signed in: log in to the web app, or add an Authorization header"})
query Recent {
  workflows(limit: 5) { id name status }
}
`;

createRoot(document.getElementById("graphiql")!).render(
  <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} defaultHeaders={JSON.stringify(headers, null, 2)} />,
);
