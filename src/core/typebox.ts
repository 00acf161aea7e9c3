/**
 * TypeBox's `Type` builder for the route schemas, from its CommonJS build. The ES-module build is 266
 * files, and under tsx (every test process, spawned test server and `npm run dev`) each ES module is
 * resolved and loaded through hooks on another thread: importing it cost ~0.8 s of CPU per process,
 * the CommonJS build ~0.3 s, the same code. A schema is a plain object whose TypeBox tags are
 * Symbol.for() keys, so the build that made it makes no difference to Fastify (which validates it
 * with Ajv) or to any other TypeBox code.
 */
import { createRequire } from 'node:module';
import type * as TypeBox from '@sinclair/typebox';

export const { Type } = createRequire(import.meta.url)('@sinclair/typebox') as typeof TypeBox;
export type { Static } from '@sinclair/typebox';
