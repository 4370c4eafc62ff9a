#!/usr/bin/env node
// Runs the TypeScript sources directly: Node 20 has no type stripping, so tsx loads them.
import { register } from 'tsx/esm/api';

register();
await import('../src/kurier.ts');
