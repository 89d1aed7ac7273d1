#!/usr/bin/env node
// Shim: loads the compiled CLI (built by `npm install` through the prepare script).
import { main } from '../dist/cli.js';

await main();
