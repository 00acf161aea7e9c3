/** Entry for a worker-only process: the same app with ROLE=worker (BullMQ workers, no public HTTP). */
process.env.ROLE = 'worker';
await import('./server.js');
