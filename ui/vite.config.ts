/// <reference types="vitest/config" />
// Vite config for aisle's UI: one SPA (chat, catalog, orders, inspector)
// built into ui/dist, which `aisle serve` serves at / with an SPA fallback.
// `npm run dev` proxies the API and the WebSocket to a local `aisle serve`.
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'
import tailwindcss from '@tailwindcss/vite'

const target = process.env.AISLE_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: {
    proxy: {
      '/api': target,
      '/ws': { target, ws: true },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
})
