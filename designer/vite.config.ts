import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// Served by the API at /workflow_orchestration/ (api/routes/designer.py); `npm run dev` proxies the API.
export default defineConfig({
  base: "/workflow_orchestration/",
  plugins: [react()],
  server: { proxy: { "/api": "http://127.0.0.1:5000" } },
  build: {
    chunkSizeWarningLimit: 4000,
    sourcemap: false,
    // two pages: the app, and the GraphQL explorer (GraphiQL) served from the same build, no CDN
    rollupOptions: { input: { main: "index.html", graphiql: "graphiql.html" } },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
