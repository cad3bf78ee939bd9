// The web view's cost at scale (scripts/bench-web.sh): opens /web on the
// exporter at BEOSTAT_URL in Debian's headless chromium, and prints, as
// JSON, the time to the first drawn map, then for BENCH_UPDATES updates
// (one every 2 s, the page's own poll) the fetch and draw times and the
// bytes each update moved (gzipped on the wire, and as JSON).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = process.env.BEOSTAT_URL;
const updates = Number(process.env.BENCH_UPDATES || 20);
const profile = mkdtempSync(join(tmpdir(), 'beostat-bench-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
const guard = { timeout: 600_000, polling: 100 };
try {
  const page = context.pages()[0] || await context.newPage();
  await page.goto(url + '/web');
  await page.waitForFunction(() => window.beostatStats && window.beostatStats.renders > 0, null, guard);
  await page.waitForFunction((n) => window.beostatStats.renders > n, updates, guard);
  const result = await page.evaluate(() => {
    const s = window.beostatStats;
    const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/cluster'));
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      first_render_ms: s.firstRenderMs,
      first_draw_ms: s.renderTimes[0],
      first_fetch_ms: s.fetchTimes[0],
      dom_content_loaded_ms: nav.domContentLoadedEventEnd,
      render_ms: s.renderTimes.slice(1),
      fetch_ms: s.fetchTimes.slice(1),
      encoded_bytes: api.map((e) => e.encodedBodySize),
      decoded_bytes: api.map((e) => e.decodedBodySize),
      node_count: Number(document.querySelector('#up-count').textContent)
        + Number(document.querySelector('#down-count').textContent)
        + Number(document.querySelector('#never-count').textContent),
    };
  });
  const stat = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    return { min: +v[0].toFixed(1), median: +v[Math.floor(v.length / 2)].toFixed(1), max: +v[v.length - 1].toFixed(1) };
  };
  console.log(JSON.stringify({
    node_count: result.node_count,
    first_render_ms: +result.first_render_ms.toFixed(1),
    first_fetch_ms: +result.first_fetch_ms.toFixed(1),
    first_draw_ms: +result.first_draw_ms.toFixed(1),
    dom_content_loaded_ms: +result.dom_content_loaded_ms.toFixed(1),
    updates: result.render_ms.length,
    update_fetch_ms: stat(result.fetch_ms),
    update_draw_ms: stat(result.render_ms),
    update_bytes_gzip: stat(result.encoded_bytes),
    update_bytes_json: stat(result.decoded_bytes),
  }, null, 2));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
