// Entry of a simulator worker thread. Workers do not inherit the parent's TypeScript loader, so
// this plain module registers tsx in the worker, then loads the part's code (sim-worker.ts).
import { register } from 'tsx/esm/api';

register();
await import('./sim-worker.ts');
