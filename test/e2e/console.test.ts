import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import { buildConsole } from '../../edge/console-build.js';
import { GatewayHost } from '../../edge/gateway/host.js';
import { LogTail } from '../../edge/log-tail.js';
import { OpcuaSim } from '../opcua/sim-process.js';
import { freePort } from '../support/mosquitto.js';

/**
 * The technician console in Debian's Chromium against a gateway on the simulated line with an
 * OPC UA simulator (a real node-opcua server whose certificate is not trusted): a technician
 * sees the line move, trusts the server certificate, breaks the configuration and sees every
 * error, fixes it and sees the diff; an admin applies it and rolls it back; a viewer finds jog
 * and config refused. Screenshots of every page on a tablet and a phone go to
 * test-artifacts/console/ (gitignored).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = join(ROOT, 'test-artifacts', 'console');
const TABLET = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const NS = 'urn:customs-edge:ct-plc-sim';
const T = { timeout: 30_000 };

describe('technician console in a browser', () => {
  let dir: string;
  let file: string;
  let host: GatewayHost;
  let sim: OpcuaSim;
  let browser: Browser;
  let base: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await buildConsole();
    sim = new OpcuaSim(await freePort());
    await sim.start(150_000); // a node-opcua server process; slow on a loaded machine
    dir = mkdtempSync(join(tmpdir(), 'edge-console-'));
    file = join(dir, 'gateway.yaml');
    const doc = parse(
      readFileSync(new URL('../../config/examples/simulated-line.yaml', import.meta.url), 'utf8'),
    );
    doc.dataDir = join(dir, 'data');
    doc.log = { level: 'info', pretty: false };
    doc.http.port = await freePort();
    doc.embeddedBroker.port = 0;
    doc.http.users = [
      { name: 'viewer', role: 'viewer', password: 'viewer-password' },
      { name: 'tech', role: 'technician', password: 'tech-password' },
      { name: 'admin', role: 'admin', password: 'admin-password' },
    ];
    Object.assign(doc.drivers[0], { parcelsPerMinute: 120, seed: 11 });
    doc.drivers.push({
      id: 'opcua-1',
      kind: 'opcua',
      pkiDir: 'pki',
      applicationName: 'customs-edge-console-test',
      servers: [
        {
          id: 'vendor-plc',
          endpointUrl: sim.endpoint,
          securityMode: 'SignAndEncrypt',
          securityPolicy: 'Basic256Sha256',
          userIdentity: { type: 'anonymous' },
          deviceId: 'vendor-plc',
          role: 'other',
          backoff: { initialMs: 300, maxMs: 1000 },
          signals: [
            {
              name: 'plc.lifeBit',
              kind: 'lifeBit',
              nodeId: `nsu=${NS};s=PLC1.LifeBit`,
              lifeBitTimeoutMs: 5000,
            },
          ],
        },
      ],
    });
    // a comment the round trips must keep
    writeFileSync(file, `# console test line: keep this comment\n${stringify(doc)}`);
    const tail = new LogTail();
    host = new GatewayHost({
      file,
      driverKinds: DRIVER_KINDS,
      log: pino({ level: 'info' }, pino.multistream([{ stream: tail }])),
      clock: systemClock,
      version: 'console-test',
      secrets: { env: {}, readFile: () => '' },
      logTail: tail,
    });
    await host.start();
    base = `http://127.0.0.1:${doc.http.port}`;
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
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    await sim?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(
    user: string,
    viewport = TABLET,
    locale = 'en-US',
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, locale });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${base}/`);
    await page.fill('input[name=user]', user);
    await page.fill('input[name=password]', `${user}-password`);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=who]', { ...T, state: 'attached' });
    return { context, page };
  }

  /** Replace the editor's whole text as a person would: select all, type. */
  async function setEditorText(page: Page, text: string) {
    await page.click('.cm-content');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(text);
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it('a technician sees the line move, trusts the OPC UA server, breaks and fixes the config', async () => {
    const { context, page } = await open('tech');
    // the line moves: parcels on the belt, positions advancing, decisions counted
    await page.waitForSelector('svg.belt rect.parcel', T);
    const lead = () =>
      page.$$eval('svg.belt .parcel-g', (gs) =>
        gs.map((g) => Number(/translateX\(([-\d.]+)px\)/.exec(g.getAttribute('style') ?? '')?.[1])),
      );
    const first = Math.max(...(await lead()));
    await expect
      .poll(async () => Number(await page.textContent('[data-counter=inducted] b')), T)
      .toBeGreaterThanOrEqual(3);
    await expect.poll(async () => Math.max(...(await lead())), T).toBeGreaterThan(first);
    expect(await page.textContent('[data-testid=line-state]')).toContain('Line running');
    await page.waitForSelector(
      'svg.belt rect.parcel.lane-pass, svg.belt rect.parcel.lane-inspection',
      T,
    );
    await shot(page, 'overview-tablet-tech');

    // OPC UA: the simulator's certificate is listed as not trusted; trust it; the server connects
    await page.goto(`${base}/#/devices/opcua`);
    const row = `[data-testid=certificates] tr[data-status=rejected]:has-text("${sim.thumbprint}")`;
    await page.waitForSelector(row, T);
    await shot(page, 'devices-opcua-untrusted-tablet');
    await page.click(`${row} button:has-text("Trust")`);
    await page.waitForSelector(
      `[data-testid=certificates] tr[data-status=trusted]:has-text("${sim.thumbprint}")`,
      T,
    );
    await page.waitForSelector('[data-server=vendor-plc] .state.running', { timeout: 60_000 });
    // browse the server and pick a node: the node id is filled in for a signal
    await page.click('[data-server=vendor-plc] button:has-text("Browse")');
    await page.waitForSelector('[data-testid=browse-tree] a[data-node]', T);
    await page.click('[data-testid=browse-tree] a[data-node]');
    await page.waitForSelector('[data-testid=node-snippet]', T);
    expect(await page.inputValue('[data-testid=node-snippet]')).toMatch(/nodeId: "/);
    await shot(page, 'devices-opcua-trusted-tablet');

    // config: break it (schema errors and a cross-check) and see every error at once
    await page.goto(`${base}/#/config`);
    await page.waitForSelector('.cm-content', T);
    const running = await page.evaluate(
      `fetch('/api/config/file?format=yaml').then((r) => r.text())`,
    );
    const text = String(running);
    expect(text).toContain('# console test line: keep this comment');
    expect(text).not.toContain('tech-password');
    const broken = text
      .replace('beltSpeedMmPerS: 1000', 'beltSpeedMmPerS: -5')
      .replace(/port: \d+\n(\s+users)/, 'port: eighty\n$1')
      .replace('gate: gate-pass', 'gate: gate-nowhere');
    await setEditorText(page, broken);
    await page.waitForSelector('[data-testid=issues] li >> nth=2', T);
    const issues = await page.$$eval('[data-testid=issues] li', (lis) =>
      lis.map((l) => l.textContent ?? ''),
    );
    expect(issues.some((i) => i.includes('/line/beltSpeedMmPerS'))).toBe(true);
    expect(issues.some((i) => i.includes('/http/port'))).toBe(true);
    expect(issues.some((i) => i.includes('/line/lanes/pass'))).toBe(true);
    expect(issues.every((i) => / \(line \d+\)/.test(i))).toBe(true);
    expect(await page.isDisabled('[data-testid=apply]')).toBe(true);
    await shot(page, 'config-errors-tablet');

    // fix it: one real change; the diff shows it; a technician may not apply
    const fixed = text.replace('parcelsPerMinute: 120', 'parcelsPerMinute: 100');
    await setEditorText(page, fixed);
    await page.waitForSelector('[data-testid=check-state]:has-text("valid")', T);
    await page.click('button:has-text("Show changes")');
    const diff = await page.textContent('[data-testid=diff]');
    expect(diff).toContain('+ ');
    expect(diff).toContain('parcelsPerMinute: 100');
    expect(diff).toContain('parcelsPerMinute: 120');
    expect(await page.isDisabled('[data-testid=apply]')).toBe(true);
    expect(await page.textContent('.config')).toContain('needs the admin role');
    await shot(page, 'config-diff-tablet');
    await context.close();
  }, 240_000);

  it('an admin applies the change with progress and rolls it back from the history', async () => {
    const { context, page } = await open('admin');
    await page.goto(`${base}/#/config`);
    await page.waitForSelector('.cm-content', T);
    const text = String(
      await page.evaluate(`fetch('/api/config/file?format=yaml').then((r) => r.text())`),
    );
    await setEditorText(page, text.replace('parcelsPerMinute: 120', 'parcelsPerMinute: 100'));
    await page.waitForSelector('[data-testid=check-state]:has-text("valid")', T);
    await page.click('[data-testid=apply]');
    await page.waitForSelector('[data-testid=apply-message]:has-text("Applied")', {
      timeout: 90_000,
    });
    const onDisk = readFileSync(file, 'utf8');
    expect(onDisk).toContain('parcelsPerMinute: 100');
    expect(onDisk).toContain('# console test line: keep this comment');
    expect(onDisk).toContain('password: admin-password');
    await shot(page, 'config-applied-tablet');

    // roll back: restore the version saved before the change
    await page.waitForSelector('[data-testid=history] tr', T);
    await page.click('[data-testid=history] tr >> nth=0 >> [data-testid=restore]');
    await page.waitForSelector('.progress .now', T);
    await page.waitForSelector('[data-testid=apply-message]:has-text("Applied")', {
      timeout: 90_000,
    });
    await expect
      .poll(() => readFileSync(file, 'utf8'), { timeout: 30_000 })
      .toContain('parcelsPerMinute: 120');
    // still logged in after the gateway restarted its HTTP server twice
    await page.goto(`${base}/#/events`);
    await page.fill('input[name=type]', 'audit');
    await page.click('button:has-text("Search")');
    await page.waitForSelector('[data-testid=event-results] td:has-text("audit")', T);
    expect(await page.textContent('[data-testid=event-results]')).toContain('config.put');
    await page.waitForSelector('[data-testid=log-lines] div', T);
    await shot(page, 'events-tablet');
    await context.close();
  }, 240_000);

  it('a viewer sees only the line; jog and config are refused', async () => {
    const { context, page } = await open('viewer');
    const nav = await page.$$eval('nav a', (as) => as.map((a) => a.textContent));
    expect(nav).toEqual(['Line']);
    await page.goto(`${base}/#/devices/gpio`);
    await page.waitForSelector('.refused', T);
    expect(await page.textContent('.refused')).toContain('technician');
    await shot(page, 'viewer-devices-refused-tablet');
    // the API refuses the same, whatever the page shows
    const statuses = await page.evaluate(`(async () => {
      const s = await (await fetch('/api/session')).json();
      const h = { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken };
      const jog = await fetch('/api/gates/outputs/gate-pass/fire', { method: 'POST', headers: h, body: '{}' });
      const put = await fetch('/api/config', { method: 'PUT', headers: h, body: '{}' });
      const file = await fetch('/api/config/file');
      return [jog.status, put.status, file.status];
    })()`);
    expect(statuses).toEqual([403, 403, 403]);
    await context.close();
  }, 120_000);

  it('every page on a tablet and a phone, in English and Chinese', async () => {
    const pages = [
      '/overview',
      '/devices',
      '/devices/opcua',
      '/devices/gpio',
      '/devices/serial',
      '/config',
      '/events',
    ];
    for (const [vpName, viewport] of [
      ['tablet', TABLET],
      ['phone', PHONE],
    ] as const) {
      for (const locale of ['en-US', 'zh-CN']) {
        const { context, page } = await open('admin', viewport, locale);
        for (const p of pages) {
          await page.goto(`${base}/#${p}`);
          await page.waitForTimeout(1200); // let the page's first data arrive for the picture
          await shot(page, `${p.slice(1).replace('/', '-')}-${vpName}-${locale}`);
        }
        if (locale === 'zh-CN') expect(await page.textContent('nav')).toContain('线体');
        await context.close();
      }
    }
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
