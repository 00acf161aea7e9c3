/**
 * Blob storage behind one small S3-shaped interface: put/get/delete by key, and the public URL
 * of a key. `LocalDiskStorage` keeps files under one root folder now; an S3 implementation can
 * replace it without touching callers. Keys are made by the server (`newKey`), never taken from
 * user input, and every key is checked so no path can leave the root.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';

export interface StoredObject {
  stream: Readable;
  contentType: string;
  size: number;
}

export interface Storage {
  put(key: string, body: Buffer | Readable, contentType: string): Promise<void>;
  /** null when no object has that key. */
  get(key: string): Promise<StoredObject | null>;
  /** Deleting a missing key is not an error (as in S3). */
  delete(key: string): Promise<void>;
  /** The URL a browser fetches the object from. */
  url(key: string): string;
}

/** `<prefix>/<uuid><suffix>`: prefix and suffix are code constants, the rest is random. */
export function newKey(prefix: string, suffix = ''): string {
  if (!/^[a-z0-9-]+$/.test(prefix) || !/^[a-z0-9.-]*$/.test(suffix)) throw new Error('bad key prefix or suffix');
  return `${prefix}/${randomUUID()}${suffix}`;
}

const KEY_RE = /^[a-z0-9-]+\/[0-9a-f-]{36}[a-z0-9.-]*$/;
/** True for keys `newKey` can make: nothing else is ever read or written. */
export const isValidKey = (key: string): boolean => KEY_RE.test(key) && !key.includes('..');

/**
 * Key prefixes of private objects (a dispute's evidence photos): never served by the public
 * /media/ route nor readable through the CDN (its bucket policy allows `photos/*` only); the
 * owning module streams them to the people allowed to see them.
 */
export const PRIVATE_PREFIXES = ['disputes'] as const;
/** True for a key whose object is private (see PRIVATE_PREFIXES). */
export const isPrivateKey = (key: string): boolean => PRIVATE_PREFIXES.some((p) => key.startsWith(`${p}/`));

const TYPES: Record<string, string> = { '.webp': 'image/webp', '.jpg': 'image/jpeg', '.png': 'image/png' };

export class LocalDiskStorage implements Storage {
  readonly root: string;
  constructor(
    root: string,
    private readonly urlPrefix = '/media/',
  ) {
    this.root = path.resolve(root);
  }

  /** The file path of a key, refusing anything that is not a server-made key or escapes the root. */
  pathOf(key: string): string {
    if (!isValidKey(key)) throw new Error(`invalid storage key: ${JSON.stringify(key)}`);
    const p = path.resolve(this.root, key);
    if (!p.startsWith(this.root + path.sep)) throw new Error('storage key escapes the root');
    return p;
  }

  async put(key: string, body: Buffer | Readable, _contentType: string): Promise<void> {
    const file = this.pathOf(key);
    await mkdir(path.dirname(file), { recursive: true });
    // Write beside and rename: a reader never sees half a file.
    const tmp = `${file}.${randomUUID()}.part`;
    try {
      if (Buffer.isBuffer(body)) await writeFile(tmp, body);
      else await pipeline(body, createWriteStream(tmp));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<StoredObject | null> {
    if (!isValidKey(key)) return null;
    const file = this.pathOf(key);
    const st = await stat(file).catch(() => null);
    if (!st?.isFile()) return null;
    return {
      stream: createReadStream(file),
      contentType: TYPES[path.extname(file)] ?? 'application/octet-stream',
      size: st.size,
    };
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  url(key: string): string {
    return this.urlPrefix + key;
  }
}
