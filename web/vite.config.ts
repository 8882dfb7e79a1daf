import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run build -- --outDir DIR --emptyOutDir` is what CMake runs; `npm run dev` proxies the API
// to a local `moat server` (MOAT_SERVER, default http://127.0.0.1:8443).
export default defineConfig({
  plugins: [svelte()],
  build: {
    target: 'es2020',
    // Hashed names under assets/: the server marks them immutable.
    assetsDir: 'assets',
    sourcemap: false,
    // No inlined data: URLs: the page's Content-Security-Policy allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '/api': process.env.MOAT_SERVER ?? 'http://127.0.0.1:8443',
    },
  },
});
