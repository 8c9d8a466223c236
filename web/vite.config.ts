import { defineConfig } from 'vite';

// Four pages, relative asset URLs (verify.html also works from a plain static
// folder), the WASM verifier as a separate file, nothing fetched from elsewhere.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        index: 'index.html',
        m: 'm.html',
        verify: 'verify.html',
        capture: 'capture.html',
      },
    },
  },
  worker: { format: 'es' },
});
