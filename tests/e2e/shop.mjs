// tests/e2e/shop.mjs — a shopper and a product team member in a real
// browser (Debian's chromium via playwright-core) against a real
// `aisle serve`.  Run by tests/integration/e2e.sh, which starts the
// server and passes BASE (http://127.0.0.1:PORT).  Prints TAP-like lines:
// "ok NAME", "not ok NAME" with indented details, "skip NAME: why".
// Screenshots of every step go to tests/e2e/screenshots/.
import { createRequire } from 'node:module'
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const require = createRequire(join(root, 'ui', 'package.json'))
const { chromium } = require('playwright-core')

const BASE = process.env.BASE
const SHOTS = process.env.SHOTS ?? join(here, 'screenshots')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const T = 10000 // the longest any single step may wait
mkdirSync(SHOTS, { recursive: true })

let failed = 0
const results = []
async function step(name, fn) {
  const t0 = Date.now()
  try {
    await fn()
    console.log(`ok ${name} (${Date.now() - t0} ms)`)
    results.push([name, true])
  } catch (e) {
    failed++
    console.log(`not ok ${name}`)
    for (const line of String(e?.stack ?? e).split('\n').slice(0, 8)) console.log(`    ${line}`)
    results.push([name, false])
    throw e
  }
}
const shot = (page, name, fullPage = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage })
const expectText = async (loc, re) => {
  await loc.first().waitFor({ timeout: T })
  const deadline = Date.now() + T
  for (;;) {
    const t = await loc.first().innerText()
    if (re.test(t)) return t
    if (Date.now() > deadline) throw new Error(`expected ${re} in ${JSON.stringify(t)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const profile = mkdtempSync(join(tmpdir(), 'aisle-e2e-'))
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 860 },
})
// product images point at an external CDN: fail them at once, never wait on the network
await ctx.route((url) => !url.href.startsWith(BASE), (r) => r.abort())
const page = ctx.pages()[0] ?? (await ctx.newPage())
const consoleErrors = []
page.on('pageerror', (e) => consoleErrors.push(String(e)))

const stamp = Date.now().toString(36)
const email = `shopper-${stamp}@example.com`
let firstSku = ''
let orderId = ''

try {
  await step('chat page loads and connects', async () => {
    await page.goto(BASE + '/', { timeout: T })
    await page.getByLabel('Message').waitFor({ timeout: T })
    await expectText(page.locator('h1'), /Chat/)
    await shot(page, '01-chat-empty')
  })

  await step('search by chat shows product cards with promotions', async () => {
    await page.getByLabel('Message').fill("show me men's shoes")
    await page.keyboard.press('Enter')
    const cards = page.getByTestId('product-card')
    await cards.first().waitFor({ timeout: T })
    const n = await cards.count()
    if (n < 2) throw new Error(`expected several cards, got ${n}`)
    await expectText(cards.first().getByTestId('promo-reason'), /men's shoes/)
    await page.getByTestId('image-placeholder').first().waitFor({ timeout: T })
    if ((await page.getByTestId('suggestion').count()) === 0) throw new Error('no suggestion chips')
    firstSku = await cards.first().getAttribute('data-sku')
    await shot(page, '02-search-results')
  })

  await step('add to cart from a card updates the cart', async () => {
    await page.getByTestId('product-card').first().getByRole('button', { name: /Add .* to cart/ }).click()
    await expectText(page.getByTestId('cart-count'), /^1$/)
    await page.getByTestId('cart-button').click()
    const drawer = page.getByTestId('cart-drawer')
    await drawer.waitFor({ timeout: T })
    await drawer.locator(`[data-testid="cart-line"][data-sku="${firstSku}"]`).waitFor({ timeout: T })
    await shot(page, '03-cart-drawer')
  })

  await step('cart drawer follows cart events (quantity edited, and a change made elsewhere)', async () => {
    const drawer = page.getByTestId('cart-drawer')
    await drawer.getByRole('button', { name: /One more/ }).click()
    await expectText(page.getByTestId('cart-count'), /^2$/)
    // a change through another channel (REST with the same session): the
    // drawer learns it from the server's {type:"cart"} event
    const auth = JSON.parse(await page.evaluate(() => localStorage.getItem('aisle.auth')))
    const res = await fetch(`${BASE}/api/v1/cart/items/${encodeURIComponent(firstSku)}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${auth.sessionToken}` },
      body: JSON.stringify({ qty: 3 }),
    })
    if (!res.ok) throw new Error(`PATCH cart: ${res.status} ${await res.text()}`)
    await expectText(page.getByTestId('cart-count'), /^3$/)
    const qty = await drawer.locator('input[type=number]').first().inputValue()
    if (qty !== '3') throw new Error(`drawer shows qty ${qty}, expected 3`)
    await drawer.getByRole('button', { name: /One less/ }).click()
    await expectText(page.getByTestId('cart-count'), /^2$/)
    await shot(page, '04-cart-updated')
    await page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'detached', timeout: T })
  })

  await step('a reload keeps the conversation and the cart', async () => {
    await page.reload()
    await page.getByTestId('msg-user').first().waitFor({ timeout: T })
    await expectText(page.getByTestId('msg-user').first(), /men's shoes/)
    await page.getByTestId('product-card').first().waitFor({ timeout: T })
    await expectText(page.getByTestId('cart-count'), /^2$/)
    await shot(page, '05-after-reload')
  })

  await step('chat adds to cart too ("add the first one to my cart")', async () => {
    await page.getByLabel('Message').fill('add the first one to my cart')
    await page.keyboard.press('Enter')
    await expectText(page.getByTestId('cart-count'), /^3$/)
    const replies = page.getByTestId('msg-assistant')
    await expectText(replies.last(), /cart/i)
  })

  await step('sign up from checkout, confirm, place the order', async () => {
    await page.getByTestId('cart-button').click()
    await page.getByRole('button', { name: 'Sign in to check out' }).click()
    const dlg = page.getByTestId('auth-dialog')
    await dlg.getByRole('button', { name: 'Create an account' }).click()
    await dlg.getByLabel('Name').fill('Test Shopper')
    await dlg.getByLabel('E-mail').fill(email)
    await dlg.getByLabel('Password').fill('correct horse battery')
    await shot(page, '06-sign-up')
    await dlg.getByRole('button', { name: 'Create account' }).click()
    const co = page.getByTestId('checkout')
    await co.waitFor({ timeout: T })
    await expectText(co.locator('h2'), /Confirm your order/)
    await expectText(page.getByTestId('signed-in-as'), /Test Shopper/)
    // the anonymous cart came along
    const lines = await co.getByTestId('cart-line').count()
    if (lines < 1) throw new Error('cart is empty after sign-up')
    await shot(page, '07-checkout-confirm')
    await co.getByRole('button', { name: /Place order/ }).click()
    await expectText(co.locator('h2'), /Order placed/)
    orderId = (await co.locator('strong').first().innerText()).replace('#', '')
    await expectText(page.getByTestId('cart-count'), /^0$/)
    await shot(page, '08-order-placed')
  })

  await step('the order is in the history with its status', async () => {
    await page.getByRole('link', { name: 'See order status' }).click()
    await page.getByTestId('order-detail').waitFor({ timeout: T })
    await expectText(page.getByTestId('order-status'), /placed/)
    await page.getByRole('link', { name: 'All orders' }).click()
    const row = page.getByTestId('order-row').filter({ hasText: `Order #${orderId}` })
    await row.waitFor({ timeout: T })
    await shot(page, '09-order-history')
  })

  await step('catalog search with facets and product detail', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Catalog' }).click()
    await page.getByLabel('Search products').fill('laptop')
    await page.getByRole('button', { name: 'Search', exact: true }).click()
    await expectText(page.locator('#results-h'), /\d+ products for “laptop”/)
    await page.getByRole('group', { name: 'Brand' }).or(page.locator('fieldset').filter({ hasText: 'Brand' })).first().waitFor({ timeout: T })
    const brand = page.locator('fieldset').filter({ hasText: 'Brand' }).getByRole('button').first()
    const brandName = (await brand.locator('span').first().innerText()).trim()
    await brand.click()
    await page.waitForURL(/brand=/, { timeout: T })
    await expectText(page.locator('#results-h'), /products/)
    await shot(page, '10-catalog')
    const card = page.getByTestId('product-card').first()
    await expectText(card, new RegExp(brandName))
    await card.getByRole('link').click()
    await page.getByTestId('product-detail').waitFor({ timeout: T })
    await shot(page, '11-product')
  })

  await step('phone-sized chat is usable', async () => {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(BASE + '/')
    await page.getByTestId('msg-user').first().waitFor({ timeout: T })
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    if (overflow > 2) throw new Error(`page is ${overflow}px wider than the phone screen`)
    await page.getByTestId('product-card').first().scrollIntoViewIfNeeded()
    await shot(page, '12-phone')
    await page.setViewportSize({ width: 1280, height: 860 })
  })

  await step('inspector shows the graph and the turns just made', async () => {
    const ins = await ctx.newPage()
    await ins.goto(BASE + '/inspector')
    await ins.getByTestId('pipeline-graph').waitFor({ timeout: T })
    await ins.getByTestId('stage-nlu').waitFor({ timeout: T })
    const row = ins.getByTestId('turn-row').filter({ hasText: "show me men's shoes" }).first()
    await row.waitFor({ timeout: T })
    await expectText(row.getByTestId('turn-intent'), /search_product/)
    await expectText(row.getByTestId('turn-route'), /product/)
    await expectText(row.getByTestId('turn-rules'), /mens-shoes-10/)
    // a new turn arrives live over the traces feed
    await page.getByLabel('Message').fill('show me laptops')
    await page.keyboard.press('Enter')
    await ins.getByTestId('turn-row').filter({ hasText: 'show me laptops' }).first().waitFor({ timeout: T })
    const band = await ins.getByTestId('stage-nlu').getAttribute('data-band')
    if (!band || band === 'not run') throw new Error(`nlu stage not coloured: ${band}`)
    await ins.evaluate(() => window.scrollTo(0, 0))
    await shot(ins, '13-inspector', true)
    await row.getByRole('button').first().click()
    await row.locator('xpath=following-sibling::tr[1]').getByText('classifier').waitFor({ timeout: T })
    await row.scrollIntoViewIfNeeded()
    await shot(ins, '14-inspector-turn')
    await ins.close()
  })

  await step('no script errors in the page', async () => {
    if (consoleErrors.length) throw new Error(consoleErrors.join('\n'))
  })
} catch {
  /* the failing step printed itself; later steps depend on it */
} finally {
  await ctx.close()
  rmSync(profile, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
