#!/usr/bin/env node
// Entry point of the `sensor` command: the compiled CLI lives in dist/ (built by `npm install` via prepare).

// onnxruntime-node (1.30) starts Microsoft's telemetry client when a model loads: it keeps a device id and an event
// store under ~/.cache/Microsoft and uploads over HTTPS. A network sensor must not talk to anyone, so it is off
// unless the environment says otherwise. Set before the CLI (and the model's worker thread) is loaded.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
const { run } = await import('../dist/cli/main.js');

run();
