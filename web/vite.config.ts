import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

// The same variables the Caddy server reads, so dev, preview and `make run` agree.
const api = process.env.SDP_WEB_API_UPSTREAM ?? "http://127.0.0.1:5500";
const monitor = process.env.SDP_WEB_MONITOR_UPSTREAM ?? "http://127.0.0.1:5502";

// The longer prefix first: Vite tries the entries in order.
const proxy: Record<string, ProxyOptions> = {
  "/api/v1/celery": { target: monitor, changeOrigin: true },
  "/api/v1": { target: api, changeOrigin: true },
};

export default defineConfig({
  plugins: [react()],
  server: { host: "127.0.0.1", port: 5501, strictPort: true, proxy },
  preview: { host: "127.0.0.1", port: 5501, strictPort: true, proxy },
  build: { target: "es2022", sourcemap: true },
});
