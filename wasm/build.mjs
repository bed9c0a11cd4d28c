// Placeholder until the kernel lands: builds nothing when wasm/assembly is absent.
import { existsSync } from 'node:fs';
if (!existsSync(new URL('./assembly/index.ts', import.meta.url))) process.exit(0);
