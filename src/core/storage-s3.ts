/**
 * The same Storage interface over S3 (or any S3-compatible server: tests run it against s3rver).
 * Keys are the server-made keys of storage.ts, checked again here. Objects are written with their
 * type and a one-year immutable cache header (keys are never reused), so CloudFront and browsers
 * can keep them; the bucket stays private (CloudFront reads it with origin access control).
 * Credentials come from the SDK's default chain (the EC2 instance role) unless static keys are
 * configured for a server off AWS.
 */
import { Readable } from 'node:stream';
import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { isPrivateKey, isValidKey, type Storage, type StoredObject } from './storage.js';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (tests, a local rehearsal); path-style addressing is used with it. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where browsers fetch objects (CloudFront); without it, the app's /media/ route proxies them. */
  publicBaseUrl?: string;
}

export const OBJECT_CACHE_CONTROL = 'public, max-age=31536000, immutable';
/** A private object (storage.ts's PRIVATE_PREFIXES) is never kept by a shared cache. */
export const PRIVATE_CACHE_CONTROL = 'private, no-store';
export const cacheControlOf = (key: string): string =>
  isPrivateKey(key) ? PRIVATE_CACHE_CONTROL : OBJECT_CACHE_CONTROL;

export class S3Storage implements Storage {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly base: string | undefined;

  constructor(opts: S3StorageOptions) {
    this.bucket = opts.bucket;
    this.base = opts.publicBaseUrl?.replace(/\/+$/, '');
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: !!opts.endpoint,
      credentials: opts.credentials,
      // S3-compatible servers reject the SDK's default extra checksums; AWS needs none for these calls.
      ...(opts.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
        : {}),
      maxAttempts: 3,
    });
  }

  private check(key: string): void {
    if (!isValidKey(key)) throw new Error(`invalid storage key: ${JSON.stringify(key)}`);
  }

  async put(key: string, body: Buffer | Readable, contentType: string): Promise<void> {
    this.check(key);
    // Photos are a few hundred KB after re-encoding: buffering gives S3 the length it needs.
    const bytes = Buffer.isBuffer(body) ? body : Buffer.concat(await body.toArray());
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        ContentLength: bytes.length,
        CacheControl: cacheControlOf(key),
      }),
    );
  }

  async get(key: string): Promise<StoredObject | null> {
    if (!isValidKey(key)) return null;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!res.Body) return null;
      return {
        stream: res.Body as Readable,
        contentType: res.ContentType ?? 'application/octet-stream',
        size: Number(res.ContentLength ?? 0),
      };
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404))
        return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    this.check(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  url(key: string): string {
    return this.base ? `${this.base}/${key}` : `/media/${key}`;
  }

  close(): void {
    this.client.destroy();
  }
}
