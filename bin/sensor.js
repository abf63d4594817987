#!/usr/bin/env node
// Entry point of the `sensor` command: the compiled CLI lives in dist/ (built by `npm install` via prepare).
import { run } from '../dist/cli/main.js';

run();
