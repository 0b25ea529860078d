import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidator } from '../../config/loader.js';
import { driverKindSchemas } from '../../drivers/kinds.js';
import { systemClock } from '../../edge/clock.js';
import type { EdgeEvent } from '../../edge/events/model.js';
import { Gateway } from '../../edge/gateway/gateway.js';
import { silentLogger } from '../../edge/log.js';
import { startMosquitto, type MosquittoProcess } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

/**
 * The inspector pages in Debian's Chromium (playwright-core) on the whole gateway: simulated
 * line, the console shell (edge/ui, built with esbuild into dist/ui), real Mosquitto. A CT
 * suspect appears in the queue within a second of its `parcel.decided` event; the officer opens
 * the CT image link (a test server records the request), decides; the decision reaches an MQTT
 * subscriber; the second officer sees the parcel taken, then decided. Screenshots go to
 * test-artifacts/inspector/ (gitignored; or $EDGE_SCREENSHOT_DIR).
 *
 * Needs the console shell (issue 15) with the inspector pages registered in
 * edge/ui/pages/index.ts; skipped without it.
 */
const root = new URL('../../', import.meta.url).pathname;
const pagesIndex = join(root, 'edge/ui/pages/index.ts');
const shellReady =
  existsSync(join(root, 'edge/console-build.ts')) &&
  existsSync(pagesIndex) &&
  readFileSync(pagesIndex, 'utf8').includes('inspector-queue');

const BASE = 'customs/demo-site/gw-demo-01';
const OFFICERS = {
  li: { name: 'officer-li', role: 'inspector', password: 'officer-li-secret' },
  wang: { name: 'officer-wang', role: 'inspector', password: 'officer-wang-secret' },
} as const;

describe.skipIf(!shellReady)('inspector pages in a browser', () => {
  let broker: MosquittoProcess;
  let platform: MqttClient;
  let gateway: Gateway;
  let browser: Browser;
  let viewer: Server;
  let dir: string;
  const shots = process.env.EDGE_SCREENSHOT_DIR ?? join(root, 'test-artifacts', 'inspector');
  const viewerRequests: string[] = [];
  const platformEvents: EdgeEvent[] = [];
  const suspects: EdgeEvent[] = [];

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    const build = (await import(new URL('../../edge/console-build.ts', import.meta.url).href)) as {
      buildConsole: () => Promise<unknown>;
    };
    await build.buildConsole();
    // the CT vendor's image viewer: records what the officer opened
    viewer = createServer((req, res) => {
      viewerRequests.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>CT viewer</title><h1>CT image</h1>');
    });
    await new Promise<void>((r) => viewer.listen(0, '127.0.0.1', r));
    const viewerPort = (viewer.address() as { port: number }).port;

    broker = await startMosquitto();
    platform = await connectAsync(broker.url, { clientId: 'platform', clean: true });
    platform.on('message', (_t, payload) =>
      platformEvents.push(JSON.parse(payload.toString()) as EdgeEvent),
    );
    await platform.subscribeAsync(`${BASE}/events/#`, { qos: 1 });

    dir = mkdtempSync(join(tmpdir(), 'edge-inspector-browser-'));
    const doc = parse(readFileSync(join(root, 'config/examples/simulated-line.yaml'), 'utf8'));
    doc.dataDir = dir;
    doc.log = { level: 'silent', pretty: false };
    doc.http.port = 0;
    doc.http.users = Object.values(OFFICERS);
    doc.embeddedBroker.enabled = false;
    doc.uplink.url = broker.url;
    doc.inspector = { imageUrlTemplate: `http://127.0.0.1:${viewerPort}/view?img={imageId}` };
    Object.assign(doc.drivers[0], { parcelsPerMinute: 60, seed: 5, suspectRate: 0.25 });
    const config = new ConfigValidator(driverKindSchemas()).parse(doc);
    gateway = new Gateway({ config, log: silentLogger(), clock: systemClock, version: 'b' });
    await gateway.start();
    gateway.outbox!.onCommitted((events) => {
      for (const e of events)
        if (e.type === 'parcel.decided' && e.payload.verdict === 'suspect') suspects.push(e);
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await platform?.endAsync();
    await broker?.stop();
    await new Promise((r) => viewer?.close(r));
    rmSync(dir, { recursive: true, force: true });
    console.log(`inspector screenshots in ${shots}`);
  });

  async function officerPage(who: keyof typeof OFFICERS, lang: 'en' | 'zh') {
    const context: BrowserContext = await browser.newContext({
      viewport: { width: 1400, height: 900 },
      locale: lang === 'zh' ? 'zh-CN' : 'en-US',
    });
    await context.addInitScript(`localStorage.setItem('edge.lang', '${lang}')`);
    const page: Page = await context.newPage();
    await page.goto(`${gateway.httpAddress!}/`);
    await page.fill('input[name=user]', OFFICERS[who].name);
    await page.fill('input[name=password]', OFFICERS[who].password);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav');
    await page.goto(`${gateway.httpAddress!}/#/inspector`);
    await page.waitForSelector('[data-testid=live]');
    // when each queue row first appeared, by the page's clock (the same machine's wall clock)
    await page.evaluate(`(() => {
      window.__rowSeen = {};
      const mark = () => document.querySelectorAll('tr[data-parcel]').forEach((tr) => {
        const id = tr.getAttribute('data-parcel');
        if (!(id in window.__rowSeen)) window.__rowSeen[id] = Date.now();
      });
      mark();
      new MutationObserver(mark).observe(document.body, { childList: true, subtree: true });
    })()`);
    return { context, page };
  }

  it('a suspect appears within a second, the officer views the image and decides, the other officer sees it taken', async () => {
    const li = await officerPage('li', 'zh');
    const wang = await officerPage('wang', 'en');
    await li.page.click('body'); // a user gesture: the alert sound may play

    const since = Date.now();
    const decided = await waitFor(() => suspects.find((e) => Date.parse(e.time) > since), {
      timeoutMs: 60_000,
      what: 'a CT suspect decided by the line',
    });
    const pid = decided.parcelId!;
    const row = `tr[data-parcel="${pid}"]`;
    await li.page.waitForSelector(row, { timeout: 5000 });
    await wang.page.waitForSelector(row, { timeout: 5000 });
    const seenAt = await li.page.evaluate<number>(`window.__rowSeen[${JSON.stringify(pid)}]`);
    const latencyMs = seenAt - Date.parse(decided.time);
    console.log(`suspect ${pid}: row visible ${latencyMs} ms after parcel.decided`);
    expect(latencyMs).toBeLessThan(1000);
    await li.page.waitForSelector('[data-testid=alert-banner]');
    await li.page.screenshot({ path: join(shots, '1-queue-alert-zh.png') });

    // officer Li opens it: claimed; officer Wang's row shows who has it
    await li.page.click(row);
    await li.page.waitForSelector('[data-testid=claim-mine]');
    await wang.page.waitForFunction(
      `document.querySelector('${row} td[data-col=opened-by]')?.textContent === 'officer-li'`,
      undefined,
      { timeout: 5000 },
    );
    await wang.page.screenshot({ path: join(shots, '2-second-officer-sees-taken-en.png') });

    // the CT image in the vendor's viewer, in a new tab
    const [popup] = await Promise.all([
      li.page.context().waitForEvent('page'),
      li.page.click('[data-testid=parcel-panel] [data-testid=image-link]'),
    ]);
    await popup.waitForLoadState();
    const imageId = String(decided.payload.imageId);
    expect(viewerRequests).toContain(`/view?img=${encodeURIComponent(imageId)}`);
    await popup.close();

    await li.page.click('[data-testid=ack-all]').catch(() => undefined);
    await li.page.fill('[data-testid=parcel-panel] textarea', '图像可见疑似刀具，扣留');
    await li.page.screenshot({ path: join(shots, '3-decision-panel-zh.png') });
    await li.page.click('[data-testid=parcel-panel] button[data-action=seize]');
    await li.page.waitForSelector('[data-testid=panel-message]');
    const published = await waitFor(
      () =>
        platformEvents.find(
          (e) =>
            e.type === 'inspector.decision' && e.parcelId === pid && e.payload.action === 'seize',
        ),
      { timeoutMs: 15_000, what: 'the decision on MQTT' },
    );
    expect(published.payload).toMatchObject({
      officer: 'officer-li',
      note: '图像可见疑似刀具，扣留',
    });
    await li.page.screenshot({ path: join(shots, '4-decided-zh.png') });

    // gone from Wang's open list, in the decided tab with Li's decision
    await wang.page.waitForSelector(`[data-testid=queue-open] ${row}`, {
      state: 'detached',
      timeout: 5000,
    });
    await wang.page.click('.insp-tabs button:nth-child(2)');
    await wang.page.waitForSelector(`[data-testid=queue-decided] ${row}`);

    // the parcel's story and the shift report
    await li.page.goto(`${gateway.httpAddress!}/#/parcel/${pid}`);
    await li.page.waitForSelector('[data-testid=story-events] li[data-type="inspector.decision"]');
    await li.page.screenshot({ path: join(shots, '5-parcel-story-zh.png'), fullPage: true });
    await wang.page.goto(`${gateway.httpAddress!}/#/shift-report`);
    await wang.page.waitForSelector('[data-testid=report-total]');
    expect(Number(await wang.page.textContent('[data-testid=report-total]'))).toBeGreaterThan(0);
    await wang.page.screenshot({ path: join(shots, '6-shift-report-en.png'), fullPage: true });
    await li.context.close();
    await wang.context.close();
  }, 120_000);
});
