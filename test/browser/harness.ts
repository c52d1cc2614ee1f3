// What the browser tests share: Debian's Chromium through playwright-core, and a static server.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test is skipped here, or null when Chromium is installed. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `${CHROMIUM} is missing; install it with 'bash scripts/ensure-chromium.sh' (as root) to run the browser tests`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.safetensors': 'application/octet-stream',
};

export interface StaticServer {
  server: Server;
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves what `route` maps a URL path to: a file path (sent with its type, 404 when unreadable or
 * of an unknown type), a string (sent as the page's HTML) or null (404). `isolated` adds the
 * COOP/COEP headers that make a page cross-origin isolated.
 */
export async function serveStatic(
  route: (path: string) => { file: string } | { html: string } | null,
  isolated: boolean,
): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    const target = route(decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname));
    if (target && 'html' in target) {
      res.writeHead(200, { ...headers, 'content-type': TYPES['.html']! }).end(target.html);
      return;
    }
    const type = target ? TYPES[extname(target.file)] : undefined;
    if (!target || !type) {
      res.writeHead(404, headers).end();
      return;
    }
    readFile(target.file).then(
      (body) => res.writeHead(200, { ...headers, 'content-type': type }).end(body),
      () => res.writeHead(404, headers).end(),
    );
  });
  await new Promise<void>((done, fail) => server.once('error', fail).listen(0, '127.0.0.1', done));
  return {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
