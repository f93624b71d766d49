import { defineConfig } from 'vite';

// Where `npm run dev` forwards /api: a local platform started with `PORT=8190 make local`.
// The built app is served by the platform itself, on the API's origin, and never uses this.
const apiTarget = 'http://127.0.0.1:8190';

export default defineConfig({
  // Relative asset URLs: the platform may serve the app under an API Gateway stage prefix
  // (/live/), which the build cannot know.
  base: './',
  esbuild: {
    jsx: 'automatic',
    jsxImportSource: 'preact',
  },
  build: {
    // Into the function that serves it (functions/web_ui), where local mode and
    // `sam build` both find it.
    outDir: '../functions/web_ui/static',
    emptyOutDir: true,
    // No inline module-preload polyfill: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    // Every asset is a file, never a data: URL inlined into a script or stylesheet.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: true },
    },
  },
});
