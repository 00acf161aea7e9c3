/** Entry for a worker-only process: the same app with ROLE=worker (BullMQ workers, no public HTTP). */
import { loadConfigOrExit } from './config.js';
import { startServer } from './start.js';

await startServer(loadConfigOrExit({ ROLE: 'worker' }));
