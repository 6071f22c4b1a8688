// Entry point: load the handler module (its module-level init is the cold start's work), then
// serve invocations through the Runtime API. A failed init is reported to /runtime/init/error.

import { reportInitError, run } from './runtime.mjs';

let handler;
try {
  ({ handler } = await import('./handler.mjs'));
} catch (error) {
  await reportInitError(error);
  process.exit(1);
}

try {
  await run(handler);
} catch (error) {
  console.error(JSON.stringify({ level: 'ERROR', message: 'the runtime loop stopped', error: String(error?.stack ?? error) }));
  process.exit(1);
}
