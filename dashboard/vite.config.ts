import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The dashboard is served by the `ciel` binary at `/` (assets at `/assets/...`), on the same
// origin as the OpenStack APIs. `npm run dev` proxies the API paths to a running `ciel up`
// (CIEL_URL, default http://127.0.0.1:8080).
const ciel = process.env.CIEL_URL ?? "http://127.0.0.1:8080";
const apiPaths = ["/identity", "/image", "/compute", "/network", "/volume", "/load-balancer", "/ciel"];

export default defineConfig({
  base: "/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: ciel, ws: true, changeOrigin: true }])),
  },
});
