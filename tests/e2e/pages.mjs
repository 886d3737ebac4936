// tests/e2e/pages.mjs — the catalog on a phone and the inspector showing
// failures, in a real browser (Debian's chromium via playwright-core)
// against a real `aisle serve --dev` that this script starts on a free
// loopback port, from a scratch copy of the shipped pipeline whose rules
// file has one more price rule, planted to fail at run time.
// Run by tests/integration/e2e.sh after shop.mjs, with AISLE=<binary>.
// Prints "ok NAME" / "not ok NAME" with indented details. Screenshots
// (20-… to 25-…) go to tests/e2e/screenshots/ (or $SHOTS).
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { T, freePort } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const require = createRequire(join(root, 'ui', 'package.json'))
const { chromium } = require('playwright-core')

// the server runs in a scratch folder: a relative path is the caller's
const AISLE = resolve(process.env.AISLE ?? join(root, 'build', 'aisle'))
const SHOTS = process.env.SHOTS ?? join(here, 'screenshots')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
mkdirSync(SHOTS, { recursive: true })

let failed = 0
async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    console.log(`ok ${name} (${Date.now() - t0} ms)`)
  } catch (e) {
    failed++
    console.log(`not ok ${name}`)
    for (const line of String(e?.stack ?? e).split('\n').slice(0, 8)) console.log(`    ${line}`)
  }
}
const shot = (page, name, fullPage = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage })
const until = async (what, fn) => {
  const deadline = Date.now() + T
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
const expectText = async (loc, re) => {
  await loc.first().waitFor({ timeout: T })
  let last = ''
  try {
    return await until(`${re}`, async () => ((last = await loc.first().innerText()), re.test(last) && last))
  } catch {
    throw new Error(`expected ${re} in ${JSON.stringify(last)}`)
  }
}

// --- the pipeline, with a rule planted to fail --------------------------
const work = mkdtempSync(join(tmpdir(), 'aisle-e2e-pages-'))
mkdirSync(join(work, 'pipelines'))
for (const d of ['data', 'templates', 'knowledge']) symlinkSync(join(root, 'pipelines', d), join(work, 'pipelines', d))
cpSync(join(root, 'pipelines', 'commerce.yaml'), join(work, 'pipelines', 'commerce.yaml'))
cpSync(join(root, 'scripts'), join(work, 'scripts'), { recursive: true })
const RULE = 'e2e-broken-rule'
const promos = join(work, 'scripts', 'promotions.lua')
const before = readFileSync(promos, 'utf8').replace(/\n*$/, '\n')
const planted = `
-- planted by tests/e2e/pages.mjs: fails at run time for every product
price("${RULE}", function(product, ctx)
  return { percent = product.no_such_field.percent, reason = "never" }
end)
`
writeFileSync(promos, before + planted)
// the line of the failing expression (the file as the server names it)
const RULE_LINE = before.split('\n').length - 1 + planted.split('\n').findIndex((l) => l.includes('no_such_field')) + 1
const RULE_WHERE = `scripts/promotions.lua:${RULE_LINE}`

// --- the server -------------------------------------------------------
const port = await freePort()
let wsPort = await freePort()
while (wsPort === port) wsPort = await freePort()
const BASE = `http://127.0.0.1:${port}`
const serverLog = join(work, 'server.log')
const server = spawn(AISLE, ['serve', '--dev', '--listen', `127.0.0.1:${port}`, '--db', join(work, 'e2e.db'),
  '--pipeline', 'pipelines/commerce.yaml', '--seed-catalog', join(root, 'examples/catalog/products.json'),
  '--set', `ui_dir=${join(root, 'ui', 'dist')}`, '--set', 'reload.watch=false', '--ws-listen', `127.0.0.1:${wsPort}`],
{ cwd: work, stdio: ['ignore', openSync(serverLog, 'w'), openSync(serverLog, 'a')],
  env: { ...process.env, AISLE_JWT_SECRET: 'e2e-only-secret-0123456789abcdef0123456789abcdef', AISLE_LLM: 'off' } })
let spawnError = null
server.on('error', (e) => (spawnError = e))
const stopServer = async () => {
  if (server.exitCode !== null) return
  const done = new Promise((r) => server.once('exit', r))
  server.kill('SIGTERM')
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))])
  if (server.exitCode === null) server.kill('SIGKILL')
}
try {
  await until('aisle serve to answer /healthz', async () => {
    if (spawnError) throw spawnError
    if (server.exitCode !== null) throw new Error(`aisle serve exited ${server.exitCode}`)
    return (await fetch(`${BASE}/healthz`).catch(() => null))?.ok
  })
} catch (e) {
  console.log('not ok e2e-pages-server-start')
  for (const l of `${e.message}\n${readFileSync(serverLog, 'utf8').slice(-2000)}`.split('\n')) console.log(`    ${l}`)
  await stopServer()
  rmSync(work, { recursive: true, force: true })
  process.exit(1)
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
const a11y = []
async function axe(pg, where) {
  await pg.addScriptTag({ content: axeSource })
  const res = await pg.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } }))
  for (const v of res.violations)
    if (v.impact === 'serious' || v.impact === 'critical')
      a11y.push(`${where}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`)
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
})
const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } })
// product images point at an external CDN: fail them at once, never wait on the network
await ctx.route((url) => !url.href.startsWith(BASE), (r) => r.abort())
const page = await ctx.newPage()
const pageErrors = []
page.on('pageerror', (e) => pageErrors.push(String(e)))

/* the page is no wider than the screen, and the header is one row */
async function fits(pg, what) {
  const r = await pg.evaluate(() => {
    const row = document.querySelector('header > div')
    const kids = [...(row?.children ?? [])].map((k) => k.getBoundingClientRect()).filter((b) => b.width > 0)
    const wide = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    return {
      wide: wide.slice(-3).map((el) => `<${el.tagName.toLowerCase()} class="${el.getAttribute('class') ?? ''}"> ${(el.textContent ?? '').slice(0, 40)}`),
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      rowH: row ? row.getBoundingClientRect().height : 0,
      tops: kids.map((b) => Math.round(b.top)),
      bottoms: kids.map((b) => Math.round(b.bottom)),
    }
  })
  if (r.overflow > 1) throw new Error(`${what}: the page is ${r.overflow}px wider than the screen: ${r.wide.join('; ')}`)
  // one row: every item of the header starts above where any other ends
  if (r.tops.some((t) => r.bottoms.some((b) => t >= b))) throw new Error(`${what}: the header wraps (tops ${r.tops}, bottoms ${r.bottoms})`)
  if (r.rowH > 64) throw new Error(`${what}: the header is ${r.rowH}px tall`)
}

try {
  await step('phone catalog (390×844): filters folded, the first product above the fold, a usable search box', async () => {
    await page.goto(`${BASE}/catalog`)
    const card = page.getByTestId('product-card').first()
    await card.waitFor({ timeout: T })
    if (await page.locator('#catalog-filters').isVisible()) throw new Error('the filter panel is open on a phone')
    await page.getByRole('button', { name: /^Filters/ }).waitFor({ timeout: T })
    const top = (await card.boundingBox()).y
    if (!(top < 844)) throw new Error(`the first product starts at ${top}px, below the fold`)
    const box = await page.getByLabel('Search products').boundingBox()
    if (box.width < 200) throw new Error(`the search box is ${box.width}px wide`)
    await fits(page, 'catalog at 390')
    await shot(page, '20-catalog-390x844')
    await page.setViewportSize({ width: 360, height: 740 })
    await fits(page, 'catalog at 360')
    await page.setViewportSize({ width: 390, height: 844 })
    await axe(page, 'phone catalog')
  })

  await step('phone catalog: the Filters button opens them; the brand filter box narrows the list; a pick shows as a chip', async () => {
    const button = page.getByRole('button', { name: /^Filters/ })
    await button.click()
    const panel = page.locator('#catalog-filters')
    await panel.waitFor({ state: 'visible', timeout: T })
    const brands = page.getByRole('group', { name: 'Brand' })
    const options = brands.getByTestId('facet-option')
    const shown = await options.count()
    const all = await brands.getByRole('button', { name: /^Show all \d+ brands$/ }).innerText()
    const total = Number(/\d+/.exec(all)[0])
    if (!(shown < total && shown <= 8)) throw new Error(`the brand list shows ${shown} of ${total}`)
    await brands.getByLabel('Filter brands').fill('app')
    await until('the brand list to narrow', async () => (await options.count()) < shown)
    const names = await options.evaluateAll((bs) => bs.map((b) => b.dataset.value))
    if (!names.length || !names.every((n) => /app/i.test(n)) || !names.includes('Apple'))
      throw new Error(`"app" left ${JSON.stringify(names)}`)
    await brands.evaluate((el) => el.scrollIntoView({ block: 'center' }))
    await shot(page, '21-catalog-brand-filter-390x844')
    await axe(page, 'phone catalog, filters open')
    await options.filter({ hasText: 'Apple' }).click()
    await page.waitForURL(/brand=Apple/, { timeout: T })
    await expectText(page.getByTestId('filter-chip'), /Brand: Apple/)
    await expectText(button, /Filters \(1\)/)
    await page.getByRole('button', { name: /^Show \d+ products?$/ }).click()
    await panel.waitFor({ state: 'hidden', timeout: T })
    await expectText(page.getByTestId('product-card').first(), /Apple/)
    await fits(page, 'catalog with a brand')
  })

  await step('the price facet in price order ($0–25, $25–50, $50–100 … $1000+), in the page and the REST API', async () => {
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.goto(`${BASE}/catalog`)
    const prices = page.getByRole('group', { name: 'Price range' }).getByTestId('facet-option')
    await prices.first().waitFor({ timeout: T })
    const shown = await prices.evaluateAll((bs) => bs.map((b) => b.dataset.value))
    const lows = shown.map((v) => Number(v.split(/[-+]/)[0]))
    if (lows.length < 5 || !lows.every((v, i) => i === 0 || v > lows[i - 1])) throw new Error(`price ranges in the page: ${shown}`)
    const api = (await (await fetch(`${BASE}/api/v1/products?pageSize=1`)).json()).facets.prices
    if (JSON.stringify(api.map((f) => f.value)) !== JSON.stringify(shown)) throw new Error(`the page shows ${shown}, the API ${api.map((f) => f.value)}`)
    const counts = api.map((f) => f.count)
    if (counts.every((c, i) => i === 0 || c <= counts[i - 1])) throw new Error('the counts fall with the price: this catalog cannot tell the orders apart')
    const cats = await page.getByRole('group', { name: 'Category' }).getByTestId('facet-option').locator('span:first-child').allInnerTexts()
    if (!cats.includes("Men's watches") || cats.some((c) => /\bmens\b|-/i.test(c))) throw new Error(`category names: ${cats}`)
    const labels = await prices.locator('span:first-child').allInnerTexts()
    if (labels[0] !== '$0 – $25' || labels[labels.length - 1] !== '$1,000 and up') throw new Error(`labels ${labels}`)
    if (!(await page.locator('#catalog-filters').isVisible())) throw new Error('the filters are folded on a wide screen')
    await shot(page, '20-catalog-1280x800')
    await axe(page, 'wide catalog')
  })

  await step('prices of $1,000 and more group their thousands (catalog card and product page)', async () => {
    await page.goto(`${BASE}/catalog?sort=price-desc`)
    const first = page.getByTestId('product-card').first()
    const price = await expectText(first.getByTestId('final-price'), /^\$\d{1,3}(,\d{3})+\.\d\d$/)
    await first.getByRole('link').first().click()
    await expectText(page.getByTestId('final-price'), new RegExp(`^${price.replace(/[$.]/g, '\\$&')}$`))
  })

  // a turn in which the planted rule fails (the product agent prices the cards)
  const anon = (await (await fetch(`${BASE}/api/v1/auth/anonymous`, { method: 'POST' })).json()).sessionToken
  const chat = await fetch(`${BASE}/api/v1/chat`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${anon}` },
    body: JSON.stringify({ text: "show me men's shoes" }),
  })
  const turnId = (await chat.json()).traceId

  await step(`a failing rule in the inspector: ${RULE} at ${RULE_WHERE}, in the summary, the turn and its details`, async () => {
    if (!turnId) throw new Error(`the chat turn failed: ${chat.status}`)
    await page.goto(`${BASE}/inspector`)
    const sum = page.getByTestId('summary-rule-errors')
    await expectText(sum, new RegExp(`${RULE} ${RULE_WHERE.replace(/[.]/g, '\\.')} · 1 turn`))
    await expectText(sum, /attempt to index a nil value \(field 'no_such_field'\)/)
    await expectText(page.getByTestId('summary-fallbacks'), new RegExp(`skipped rule ${RULE}`))
    await expectText(page.getByTestId('lint-runtime-note'), /rules failed in 1 of 1 recent turn \(/)
    const row = page.locator(`[data-testid="turn-row"][data-trace="${turnId}"]`)
    await expectText(row.getByTestId('turn-rule-errors'), new RegExp(`${RULE}\\s*${RULE_WHERE}`))
    await expectText(row.getByTestId('turn-fallbacks'), new RegExp(`skipped rule ${RULE}`))
    if (/none/.test(await row.getByTestId('turn-fallbacks').innerText())) throw new Error('the turn says "Fallbacks: none"')
    // the graph marks the stage that called the rule
    await until('the product stage to be marked', async () => /rule error/.test((await page.getByTestId('stage-product').getAttribute('data-problems')) ?? ''))
    // the stage's name for a screen reader counts its one turn as one
    const named = await page.locator('[aria-label^="Stage product (agent)"]').first().getAttribute('aria-label')
    if (!/over 1 turn;/.test(named)) throw new Error(`the product stage is named ${JSON.stringify(named)}`)
    await shot(page, '22-inspector-1280x800')
    await axe(page, 'wide inspector')
    await row.getByRole('button', { name: "show me men's shoes" }).click()
    const list = page.getByTestId('rule-error-list')
    await expectText(list, new RegExp(`${RULE} at ${RULE_WHERE} \\(price, stage product\\): attempt to index a nil value`))
    await expectText(page.getByTestId('fallback-list'), new RegExp(`product: skipped rule ${RULE} \\(${RULE_WHERE}\\)`))
    await list.scrollIntoViewIfNeeded()
    await shot(page, '22b-inspector-turn-1280x800')
    await shot(page, '22c-inspector-full-1280', true)
  })

  await step('phone inspector (390×844): the stages as a list, turns as cards with the failing rule, no sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${BASE}/inspector`)
    await page.getByTestId('stage-list').waitFor({ timeout: T })
    if (await page.getByTestId('pipeline-graph').count()) throw new Error('the graph is drawn on a phone')
    await expectText(page.getByTestId('stage-item-product').getByTestId('stage-problems'), /1 rule error/)
    await expectText(page.getByTestId('summary-rule-errors'), new RegExp(RULE))
    const card = page.locator(`[data-testid="turn-card"][data-trace="${turnId}"]`)
    await card.waitFor({ timeout: T })
    await fits(page, 'inspector at 390')
    await shot(page, '23-inspector-390x844')
    await axe(page, 'phone inspector')
    await expectText(card.getByTestId('turn-rule-errors'), new RegExp(`${RULE}\\s*${RULE_WHERE}`))
    await card.getByRole('button', { name: "show me men's shoes" }).click()
    await expectText(card.getByTestId('rule-error-list'), new RegExp(RULE_WHERE))
    await fits(page, 'inspector at 390, a turn open')
    await card.evaluate((el) => el.scrollIntoView({ block: 'start' }))
    await shot(page, '23b-inspector-turn-390x844')
    // the switch shows the graph on a phone too
    await page.getByTestId('view-toggle').getByRole('button', { name: 'Graph' }).click()
    await page.getByTestId('pipeline-graph').waitFor({ timeout: T })
    await fits(page, 'inspector graph at 390')
  })

  await step('a long signed-in e-mail is cut with an ellipsis: the header stays one row at 360 and 390 px', async () => {
    const email = `a-rather-long-address-for-the-header-${Date.now().toString(36)}@shoppers.example.com`
    await page.goto(`${BASE}/catalog`)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    const dlg = page.getByTestId('auth-dialog')
    await dlg.getByRole('button', { name: 'Create an account' }).click()
    await dlg.getByLabel('E-mail').fill(email)
    await dlg.getByLabel('Password').fill('correct horse battery')
    await dlg.getByRole('button', { name: 'Create account' }).click()
    await dlg.waitFor({ state: 'detached', timeout: T })
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Orders' }).waitFor({ timeout: T })
    for (const w of [360, 390]) {
      await page.setViewportSize({ width: w, height: 844 })
      await fits(page, `signed-in catalog at ${w}`)
    }
    await shot(page, '24-catalog-signed-in-390x844')
    await page.goto(`${BASE}/inspector`)
    const out = page.getByTestId('inspector-sign-out')
    await out.waitFor({ timeout: T })
    await page.locator(`[data-testid="turn-card"][data-trace="${turnId}"]`).waitFor({ timeout: T })
    for (const w of [360, 390]) {
      await page.setViewportSize({ width: w, height: 844 })
      await fits(page, `signed-in inspector at ${w}`)
    }
    const cut = await out.locator('span').last().evaluate((el) => el.scrollWidth > el.clientWidth && getComputedStyle(el).textOverflow)
    if (cut !== 'ellipsis') throw new Error(`the e-mail is not cut with an ellipsis (${cut})`)
    await shot(page, '25-inspector-signed-in-390x844')
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.goto(`${BASE}/catalog`)
    await page.getByTestId('signed-in-as').waitFor({ timeout: T })
    await fits(page, 'signed-in catalog at 1280')
    const wide = await page.getByTestId('signed-in-as').evaluate((el) => el.getBoundingClientRect().width)
    if (wide > 240) throw new Error(`the e-mail takes ${wide}px of the header`)
  })

  await step('catalog and inspector pages: no serious or critical axe-core violations (WCAG 2 A/AA)', async () => {
    if (a11y.length) throw new Error([...new Set(a11y)].join('\n'))
  })
  await step('catalog and inspector pages: no script errors', async () => {
    if (pageErrors.length) throw new Error(pageErrors.join('\n'))
  })
} finally {
  if (failed) console.log(`# server log:\n${readFileSync(serverLog, 'utf8').split('\n').filter((l) => !l.includes('"event":"access"')).slice(-12).join('\n').replace(/^/gm, '#   ')}`)
  await browser.close().catch(() => {})
  await stopServer()
  rmSync(work, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
