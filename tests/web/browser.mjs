// The browser half of tests/web.rs: opens the web view in Debian's
// chromium (headless, a fresh profile) and checks it against the values
// tests/web.rs read from the files (BEOSTAT_EXPECTED, re-read after each
// step). Steps that need the files changed are asked for on stdout
// ("STEP name") and go on when a line arrives on stdin. Exits non-zero on
// the first check that fails.
import { chromium } from 'playwright-core';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

const url = process.env.BEOSTAT_URL;
const shots = process.env.BEOSTAT_SHOTS;
const profile = process.env.BEOSTAT_PROFILE;
const expected = () => JSON.parse(readFileSync(process.env.BEOSTAT_EXPECTED, 'utf8'));

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function step(name) {
  console.log('STEP ' + name);
  const { done } = await lines.next();
  if (done) throw new Error('no answer to step ' + name);
}

function check(what, got, want) {
  if (String(got) !== String(want)) {
    throw new Error(`${what}: page shows ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
  console.log(`ok: ${what} = ${got}`);
}

// Waits until fn(arg) is true in the page; a hang guard, not a speed limit.
const until = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: 120_000, polling: 100 });
const text = (page, selector) => page.locator(selector).first().textContent();

rmSync(profile, { recursive: true, force: true });
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
let failed = false;
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const outside = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('data:')) outside.push(r.url());
  });

  // The cluster view.
  await page.goto(url + '/web');
  await until(page, () => window.beostatStats && window.beostatStats.renders > 0);
  let want = expected();
  check('nodes up', await text(page, '#up-count'), want.up);
  check('nodes down', await text(page, '#down-count'), want.down);
  check('never reported', await text(page, '#never-count'), want.never);
  check('idle CPUs', await text(page, '#idle-cpus'), want.idle_cpus);
  check('down list', await text(page, '#down-list-count'), want.down);
  for (const metric of ['load', 'mem', 'net', 'cpu']) {
    const before = await page.evaluate(() => window.beostatStats.renders);
    await page.selectOption('#metric', metric);
    await until(page, (n) => window.beostatStats.renders > n, before);
    check('map label after choosing ' + metric, /coloured by/.test(await page.locator('#map').getAttribute('aria-label')), true);
  }
  await page.screenshot({ path: join(shots, 'web-cluster.png'), fullPage: true });

  // The keyboard: into the map, along to the node, Enter opens it.
  await page.focus('#map');
  for (let i = 0; i < want.node; i++) await page.keyboard.press('ArrowRight');
  check('cursor', (await text(page, '#cursor')).startsWith(`Node ${want.node}: up`), true);
  await page.keyboard.press('Enter');
  await until(page, () => window.beostatStats.nodeUpdates > 0);
  check('route', new URL(page.url()).hash, '#/node/' + want.node);

  // The node view, against the reader's values.
  async function checkNode(want) {
    check('host name', await text(page, '#node-name'), want.name);
    for (let c = 0; c < want.busy.length; c++) {
      check(`cpu${c} busy`, await text(page, `#cpu-table tr[data-cpu="${c}"] td.busy`), want.busy[c]);
    }
    check('cpu rows', await page.locator('#cpu-table tbody tr').count(), want.busy.length);
    check('memory total', await page.locator('#mem-total').getAttribute('data-bytes'), want.mem_total);
    check('memory used', await page.locator('#mem-used').getAttribute('data-bytes'), want.mem_used);
    check('swap used', await page.locator('#swap-used').getAttribute('data-bytes'), want.swap_used);
    check('eth0 received', await page.locator('#net-table tr[data-interface="eth0"] td').nth(2).getAttribute('data-bytes'), want.eth0_received);
  }
  await checkNode(want);
  for (const mode of ['user', 'nice', 'system', 'iowait', 'irq', 'softirq', 'steal', 'idle']) {
    check(`column ${mode}`, (await page.locator('#cpu-table thead th').allTextContents()).includes(mode), true);
  }

  // New reports: the page follows without a reload.
  await step('new-reports');
  want = expected();
  await until(page, (busy) => document.querySelector('#cpu-table tr[data-cpu="0"] td.busy')?.textContent === busy, want.busy[0]);
  await checkNode(want);
  // Two reports seen: the interface's rate is known.
  check('eth0 rate shown', /\/s$/.test(await page.locator('#net-table tr[data-interface="eth0"] td').nth(0).textContent()), true);
  await page.screenshot({ path: join(shots, 'web-node.png'), fullPage: true });

  await page.goto(url + '/web#/');
  await until(page, (up) => document.querySelector('#up-count').textContent === String(up), want.up);
  check('nodes up after node 5 reported', await text(page, '#up-count'), want.up);
  check('nodes down after node 5 reported', await text(page, '#down-count'), want.down);

  // A narrow window: nothing wider than the window but the tables' own scroll boxes.
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('page fits 360 px (overflow px)', overflow <= 0, true);
  await page.goto(url + '/web#/node/' + want.node);
  await until(page, () => window.beostatStats.nodeUpdates > 0);
  const nodeOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('node view fits 360 px', nodeOverflow <= 0, true);
  await page.setViewportSize({ width: 1280, height: 900 });

  // recvstats is killed and leaves its files: a banner, the values stay.
  await page.goto(url + '/web#/');
  await until(page, () => window.beostatStats.renders > 0);
  check('no banner while recvstats runs', await page.locator('#banner').isHidden(), true);
  await step('writer-gone');
  await until(page, () => !document.querySelector('#banner').hidden
    && /is not running/.test(document.querySelector('#banner').textContent));
  console.log('ok: banner: ' + await text(page, '#banner'));
  check('values while the writer is gone', await text(page, '#up-count'), want.up);

  // Its files go too: the banner says so, the last values kept.
  await step('remove-files');
  await until(page, () => !document.querySelector('#banner').hidden
    && /cannot be read/.test(document.querySelector('#banner').textContent));
  console.log('ok: banner: ' + await text(page, '#banner'));
  check('last values kept', await text(page, '#up-count'), want.up);

  check('requests outside the exporter', outside.join(' '), '');
  check('script errors', errors.join(' '), '');
} catch (e) {
  console.log('FAILED: ' + (e && e.stack ? e.stack : e));
  failed = true;
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);
