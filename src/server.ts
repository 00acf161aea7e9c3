/**
 * Entry point: config -> buildApp -> listen. ROLE=web serves HTTP, ROLE=worker runs BullMQ
 * workers only, ROLE=all (default) does both. SIGTERM/SIGINT drain: /readyz turns 503 so the
 * load balancer stops sending, in-flight requests finish, workers finish their jobs, then exit.
 */
import { loadConfigOrExit } from './config.js';
import { startServer } from './start.js';

await startServer(loadConfigOrExit());
