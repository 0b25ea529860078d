import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { Gateway } from '../../edge/gateway.js';
import { silentLogger } from '../../edge/log.js';

/** The status page in a real browser (Debian's chromium): parcels and decisions appear live. */
describe('status page in a browser', () => {
  let gateway: Gateway;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    dir = mkdtempSync(join(tmpdir(), 'edge-page-'));
    doc.dataDir = dir;
    doc.log = { level: 'silent', pretty: false };
    doc.http.port = 0;
    doc.http.users = [{ name: 'viewer', role: 'viewer', password: 'viewer-password' }];
    doc.embeddedBroker.port = 0;
    doc.line.beltSpeedMmPerS = 5000;
    // 600 parcels/min of <= 200 mm at 5 m/s: >= 240 mm between them; 48 ms late is 240 mm
    doc.line.minGapMm = 240;
    doc.gates.maxLateMs = 48;
    Object.assign(doc.drivers[0], {
      parcelsPerMinute: 600,
      parcelLengthMm: { min: 100, max: 200 },
      verdictDelayMs: { min: 20, max: 200 },
      seed: 7,
    });
    const config = new ConfigValidator(driverKindSchemas()).parse(doc);
    gateway = new Gateway({
      config,
      log: silentLogger(),
      clock: systemClock,
      version: 'page-test',
    });
    await gateway.start();
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a visitor without credentials', async () => {
    const page = await browser.newPage();
    // headless Chromium turns a Basic challenge without credentials into a navigation error
    await expect(page.goto(`${gateway.httpAddress!}/`)).rejects.toThrow(
      /ERR_INVALID_AUTH_CREDENTIALS/,
    );
    await page.close();
  });

  it('shows parcels with their lanes as they are decided', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'viewer', password: 'viewer-password' },
    });
    const page = await context.newPage();
    await page.goto(`${gateway.httpAddress!}/`);
    // rows arrive over server-sent events; wait for decided ones (a lane class on the row)
    await page.waitForSelector('tbody tr.pass, tbody tr.inspection, tbody tr.exception', {
      timeout: 20_000,
    });
    // browser-side expressions as strings: this program is type-checked without the DOM library
    await page.waitForFunction(
      "Number(document.getElementById('t-inducted')?.textContent) >= 5",
      undefined,
      {
        timeout: 20_000,
      },
    );
    const lanes = await page.$$eval('tbody tr td.lane', (tds) => tds.map((td) => td.textContent));
    expect(lanes.some((l) => l === 'pass' || l === 'inspection' || l === 'exception')).toBe(true);
    await page.waitForFunction(
      "document.getElementById('health')?.textContent?.includes('gateway gw-demo-01')",
      undefined,
      { timeout: 10_000 },
    );
    await page.screenshot({ path: process.env.EDGE_SCREENSHOT ?? join(dir, 'status-page.png') });
    await context.close();
  });
});
