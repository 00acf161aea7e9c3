/**
 * Cached pages compressed (issue 16; core/page-cache.ts is the one user): a body is compressed once
 * per encoding, the first time a visitor's Accept-Encoding picks it, and every later hit sends those
 * bytes. Shoppers' browsers all send Accept-Encoding; the cloud's ALB compresses nothing, and on-prem
 * nginx (gzip on) passes a response that is already encoded as it is instead of compressing the same
 * page again for every view. Bodies under COMPRESS_MIN stay as they are (the framing would eat the gain).
 *
 * Brotli is preferred at quality 5: on an 18 KB item page (node loop on the 2-core box) it gave
 * 4,432 B in ~0.44 ms against gzip 6's 4,923 B in ~0.18 ms and brotli 4's 4,750 B in ~0.32 ms. That
 * is paid once per change of the page, not per view; quality 9 and up cost 8-21 ms.
 */
import { brotliCompressSync, gzipSync, constants as zlib } from 'node:zlib';
import fp from 'fastify-plugin';
import fastifyCompress from '@fastify/compress';
import AcceptNegotiator from '@fastify/accept-negotiator';
import { LRUCache } from 'lru-cache';
import { prom, registry } from './metrics.js';

const COMPRESS_MIN = 1024;
export type Encoding = 'br' | 'gzip';

/** A body and its compressed copies, made on first need (compressed()). */
export interface Compressible {
  body: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

/** Bodies compressed (once per body and encoding), and how long each took. */
const compressSeconds = new prom.Histogram({
  name: 'page_cache_compress_seconds',
  help: 'Cached pages compressed for visitors that accept it (once per entry and encoding), by encoding',
  labelNames: ['encoding'] as const,
  buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05],
  registers: [registry],
});

/** Accept-Encoding -> encoding; its cache is bounded (the header is the visitor's to choose). */
const negotiator = new AcceptNegotiator.Negotiator<Encoding>({
  supportedValues: ['br', 'gzip'],
  cache: new LRUCache<string, string>({ max: 500 }),
});

/** The encoding to send `c` in for this Accept-Encoding (q-values honoured), or null: as it is. */
export function encodingFor(accept: string | string[] | undefined, c: Compressible): Encoding | null {
  if (typeof accept !== 'string' || !accept || c.body.length < COMPRESS_MIN) return null;
  return negotiator.negotiate(accept);
}

/** `c`'s body in `enc`, compressed the first time and kept on `c`. */
export function compressed(c: Compressible, enc: Encoding): Buffer {
  const done = c[enc];
  if (done) return done;
  const end = compressSeconds.startTimer({ encoding: enc });
  const out =
    enc === 'br'
      ? brotliCompressSync(c.body, {
          params: {
            [zlib.BROTLI_PARAM_QUALITY]: 5,
            [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT,
            [zlib.BROTLI_PARAM_SIZE_HINT]: c.body.length,
          },
        })
      : gzipSync(c.body, { level: 6 });
  end();
  return (c[enc] = out);
}

/**
 * Every other reply compressed per request (config.compressResponses, COMPRESS_RESPONSES=on: where
 * nothing in front compresses, the cloud's ALB): logged-in pages, fragments, static files, by
 * Fastify's own @fastify/compress. Per request the fastest levels: on an 18 KB logged-in item page
 * brotli quality 1 gave 5,492 B in ~60-72 µs (a 256 KB window: the page fits), gzip 1 5,422 B in
 * ~110 µs (gzip 6: 4,925 B, ~194 µs).
 * A reply already encoded (the page cache's) passes as it is; request bodies are never inflated
 * (a small compressed upload cannot become a large one behind the body limit's back).
 */
export const responseCompression = fp(
  async (app) => {
    await app.register(fastifyCompress, {
      global: true,
      globalDecompression: false,
      threshold: COMPRESS_MIN,
      encodings: ['br', 'gzip'],
      // In one call up to 64 KB (every page): the library's default on 2 cores (8 KB) sent pages
      // through a compression stream on the threadpool, 0.86-0.95 ms of CPU per logged-in item
      // page instead of 0.33 (page-profile.ts), the stream's and brotli's set-up dwarfing the work.
      syncThreshold: 65_536,
      brotliOptions: { params: { [zlib.BROTLI_PARAM_QUALITY]: 1, [zlib.BROTLI_PARAM_LGWIN]: 18 } },
      zlibOptions: { level: 1 },
    });
  },
  { name: 'core-response-compression' },
);
