/**
 * The photo stores of both sides behind one small interface (a local folder as the app's
 * LocalDiskStorage keeps it, or an S3 bucket as S3Storage does), and the copy and compare of
 * every object: parallel, resumable (an object already on the target with the same SHA-256 is
 * skipped), each one read back and checked after writing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  S3Client,
  ListObjectsV2Command,
  GetObjectCommand,
  PutObjectCommand,
  HeadObjectCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
} from '@aws-sdk/client-s3';
import { isValidKey } from '../../src/core/storage.js';
import { cacheControlOf } from '../../src/core/storage-s3.js';
import type { Side } from './env.js';
import type { Log } from './log.js';

export interface PhotoStore {
  list(): Promise<{ key: string; size: number }[]>;
  read(key: string): Promise<Buffer | null>;
  /** The SHA-256 the store recorded at write time (S3 metadata), or null: then read and hash. */
  recordedHash(key: string): Promise<string | null>;
  write(key: string, body: Buffer, sha256: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Writes (and deletes) a throw-away object: the store is writable. */
  probe(bytes?: number): Promise<{ ok: boolean; detail: string }>;
  close(): void;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TYPES: Record<string, string> = { '.webp': 'image/webp', '.jpg': 'image/jpeg', '.png': 'image/png' };
const typeOf = (key: string) => TYPES[path.extname(key)] ?? 'application/octet-stream';
const PROBE_PREFIX = 'migrate-probe/';

class LocalStore implements PhotoStore {
  constructor(readonly root: string) {}
  private file(key: string) {
    if (!isValidKey(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
    return path.join(this.root, key);
  }
  async list() {
    const out: { key: string; size: number }[] = [];
    const dirs = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const d of dirs) {
      if (!d.isDirectory()) continue;
      for (const f of await readdir(path.join(this.root, d.name), { withFileTypes: true })) {
        const key = `${d.name}/${f.name}`;
        if (!f.isFile() || !isValidKey(key)) continue; // `.part` files of unfinished writes are not keys
        out.push({ key, size: (await stat(path.join(this.root, key))).size });
      }
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  async read(key: string) {
    return readFile(this.file(key)).catch(() => null);
  }
  async recordedHash() {
    return null;
  }
  async write(key: string, body: Buffer) {
    const f = this.file(key);
    await mkdir(path.dirname(f), { recursive: true });
    const tmp = `${f}.${randomUUID()}.part`;
    await writeFile(tmp, body);
    await rename(tmp, f);
  }
  async delete(key: string) {
    await rm(this.file(key), { force: true });
  }
  async probe(bytes = 16) {
    try {
      await mkdir(path.join(this.root, PROBE_PREFIX), { recursive: true });
      const f = path.join(this.root, PROBE_PREFIX, randomUUID());
      await writeFile(f, Buffer.alloc(bytes));
      await rm(f);
      return { ok: true, detail: `folder ${this.root} writable` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
  close() {}
}

class S3Store implements PhotoStore {
  readonly client: S3Client;
  constructor(readonly cfg: Extract<Side['storage'], { kind: 's3' }>) {
    this.client = new S3Client({
      region: cfg.region,
      endpoint: cfg.endpoint,
      forcePathStyle: !!cfg.endpoint,
      credentials: cfg.credentials,
      ...(cfg.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
        : {}),
      maxAttempts: 5,
    });
  }
  async list() {
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    for (let i = 0; i < 100000; i++) {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.cfg.bucket, ContinuationToken: token, MaxKeys: 1000 }),
      );
      for (const o of r.Contents ?? []) if (o.Key && isValidKey(o.Key)) out.push({ key: o.Key, size: o.Size ?? 0 });
      if (!r.IsTruncated) break;
      token = r.NextContinuationToken;
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  async read(key: string) {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }
  async recordedHash(key: string) {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key }));
      return h.Metadata?.sha256 ?? null;
    } catch {
      return null;
    }
  }
  async write(key: string, body: Buffer, hash: string) {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.cfg.bucket,
        Key: key,
        Body: body,
        ContentType: typeOf(key),
        CacheControl: cacheControlOf(key),
        ContentMD5: createHash('md5').update(body).digest('base64'),
        Metadata: { sha256: hash },
      }),
    );
  }
  async delete(key: string) {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: key }));
  }
  async probe(bytes = 16) {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.cfg.bucket }));
      const key = PROBE_PREFIX + randomUUID();
      await this.client.send(new PutObjectCommand({ Bucket: this.cfg.bucket, Key: key, Body: Buffer.alloc(bytes) }));
      await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: key }));
      return { ok: true, detail: `bucket ${this.cfg.bucket} writable` };
    } catch (err) {
      return { ok: false, detail: `bucket ${this.cfg.bucket}: ${(err as Error).message}` };
    }
  }
  close() {
    this.client.destroy();
  }
}

export function openPhotos(storage: Side['storage']): PhotoStore {
  return storage.kind === 'local' ? new LocalStore(path.resolve(storage.dir)) : new S3Store(storage);
}

/** Runs `fn` over items with `n` at a time. */
export async function parallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

export interface PhotoCopyResult {
  objects: number;
  copied: number;
  skipped: number;
  bytes: number;
  seconds: number;
}

/** Copies every object of `from` missing or different on `to`; each written object is read back and hashed. */
export async function copyPhotos(
  from: PhotoStore,
  to: PhotoStore,
  log: Log,
  step = 'copy',
  jobs = 8,
): Promise<PhotoCopyResult> {
  const started = Date.now();
  const list = await from.list();
  const there = new Map((await to.list()).map((o) => [o.key, o.size]));
  let done = 0;
  let copied = 0;
  let bytes = 0;
  await parallel(list, jobs, async (o) => {
    const body = await from.read(o.key);
    if (body) {
      const hash = sha256(body);
      let same = false;
      if (there.get(o.key) === body.length) {
        const recorded = await to.recordedHash(o.key);
        same = recorded ? recorded === hash : sha256((await to.read(o.key)) ?? Buffer.alloc(0)) === hash;
      }
      if (!same) {
        await to.write(o.key, body, hash);
        const back = await to.read(o.key);
        if (!back || sha256(back) !== hash) throw new Error(`photo ${o.key}: read back a different object`);
        copied++;
        bytes += body.length;
      }
    }
    done++;
    log.progress(step, 'photos', done, list.length, `${copied} copied`);
  });
  if (!list.length) log.progress(step, 'photos', 0, 0);
  return {
    objects: list.length,
    copied,
    skipped: list.length - copied,
    bytes,
    seconds: (Date.now() - started) / 1000,
  };
}
