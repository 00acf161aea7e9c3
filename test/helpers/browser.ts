/**
 * Real-browser tests: Debian's Chromium driven by playwright-core, against the real app
 * listening on a loopback port. Screenshots go to test/artifacts/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApp } from './app.js';
import { waitForMail, linkIn } from './mail.js';
import { ROOT } from './env.js';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';

export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** The real app listening on 127.0.0.1:<random port>; returns its base URL. */
export async function startServer(
  t: Test,
  overrides: Record<string, string> = {},
): Promise<{ app: App; baseUrl: string; config: Config }> {
  const { app, config } = await startApp(t, overrides);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  return { app, config, baseUrl: `http://127.0.0.1:${addr.port}` };
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, `${name}.png`);
}

/**
 * Collects what a person would call an error on the page: uncaught exceptions, console errors
 * (CSP violations among them) and failed requests for the page's own resources. Statuses the
 * flow expects (422 form errors, 409 conflicts) are allowed; /media/ photos are skipped because
 * the shared test database shows listings whose files other test files removed.
 */
export function collectPageErrors(page: import('playwright-core').Page, allowed: number[] = [422, 409]): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (r.status() >= 400 && !allowed.includes(r.status()) && !url.pathname.startsWith('/media/'))
      errors.push(`${r.status()} ${url.pathname}`);
  });
  return errors;
}

/**
 * Submits the filled sign-up form as a person does, then opens the link from the mail the app
 * sent and confirms: the page ends on the home page, logged in.
 */
export async function submitSignup(page: Page, app: App, baseUrl: string, email: string): Promise<void> {
  const mail = waitForMail(app, email.toLowerCase());
  // The two required consents (이용약관, 개인정보 수집·이용); marketing stays unticked.
  await page.check('input[name=terms]');
  await page.check('input[name=privacy]');
  await page.click('main button[type=submit]');
  await page.waitForSelector('[data-testid=check-email]');
  const link = linkIn(await mail, '/signup/verify');
  if (!link) throw new Error('no sign-up link in the mail');
  await page.goto(`${baseUrl}${link}`);
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('[data-testid=verify-submit]')]);
}
