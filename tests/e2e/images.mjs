// tests/e2e/images.mjs — product images served by the shop itself, in a
// real browser (Debian's chromium via playwright-core): a loopback image
// server (tests/integration/media_server.py) stands for the CDN, `aisle
// import --fetch-images` keeps the shop's copies, then `aisle serve --dev`
// serves a catalog in which the browser may reach nothing but the shop.
// The chat cards, catalog, cart, checkout and order pages must show the copies
// (requests on the shop's origin, images decoded), and a product without a
// picture the placeholder that names its category.  Screenshots of the
// cart, checkout and order pages at 1280x800 and 390x844 go to
// tests/e2e/screenshots/img-*.png.  Run by tests/integration/e2e.sh.
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { T, expectText, freePort } from './lib.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
const require = createRequire(join(root, 'ui', 'package.json'))
const { chromium } = require('playwright-core')
const AISLE = process.env.AISLE ?? join(root, 'build', 'aisle')
const SHOTS = process.env.SHOTS ?? join(here, 'screenshots')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
mkdirSync(SHOTS, { recursive: true })

if (spawnSync('python3', ['--version']).status !== 0) {
  console.log('skip e2e-images: python3 is not installed (the loopback image server)')
  process.exit(0)
}

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
    throw e
  }
}

// --- the image server, the import, the shop ------------------------------
const work = mkdtempSync(join(tmpdir(), 'aisle-e2e-img-'))
const media = spawn('python3', [join(root, 'tests/integration/media_server.py')], { stdio: ['ignore', 'pipe', 'inherit'] })
const mport = await new Promise((res, rej) => {
  let out = ''
  media.once('exit', () => rej(new Error('media_server.py exited')))
  media.stdout.on('data', (d) => {
    out += d
    if (out.includes('\n')) res(Number(out.split('\n')[0]))
  })
})
const M = `http://127.0.0.1:${mport}`
const catalog = {
  products: [
    { sku: 'img-lamp', title: 'Red Desk Lamp', brand: 'Lumen', category: 'home-decoration', price: 39, stock: 20, rating: 4.5, description: 'A red lamp.', thumbnail: `${M}/red.png`, images: [`${M}/red.png`, `${M}/green.png`] },
    { sku: 'img-mug', title: 'Green Mug', brand: 'Acme', category: 'kitchen-accessories', price: 12, stock: 20, rating: 4.1, description: 'A green mug.', thumbnail: `${M}/green.png`, images: [`${M}/green.png`] },
    { sku: 'img-ball', title: 'Blue Ball', brand: 'Kick', category: 'sports-accessories', price: 18, stock: 20, rating: 4.8, description: 'A blue ball.', thumbnail: `${M}/moved.png`, images: [`${M}/moved.png`] },
    { sku: 'img-spoon', title: 'Plain Spoon', brand: 'Acme', category: 'kitchen-accessories', price: 3, stock: 20, rating: 3.9, description: 'No picture at all.' },
    { sku: 'img-vase', title: 'Vase Without Copy', brand: 'Casa', category: 'home-decoration', price: 25, stock: 20, rating: 4.0, description: 'Its server lies.', thumbnail: `${M}/lying.png`, images: [`${M}/lying.png`] },
  ],
}
writeFileSync(join(work, 'catalog.json'), JSON.stringify(catalog))
const db = join(work, 'shop.db')
const imp = spawnSync(AISLE, ['import', '--catalog', join(work, 'catalog.json'), '--db', db, '--fetch-images', '--fetch-timeout', '3'], { encoding: 'utf8' })

const port = await freePort()
let wsPort = await freePort()
while (wsPort === port) wsPort = await freePort()
const BASE = `http://127.0.0.1:${port}`
const log = join(work, 'server.log')
const fd = openSync(log, 'w')
const server = spawn(AISLE, ['serve', '--dev', '--listen', `127.0.0.1:${port}`, '--db', db, '--pipeline', 'pipelines/commerce.yaml',
  '--set', `ui_dir=${join(root, 'ui', 'dist')}`, '--set', 'reload.watch=false', '--ws-listen', `127.0.0.1:${wsPort}`],
{ cwd: root, stdio: ['ignore', fd, fd], env: { ...process.env, AISLE_JWT_SECRET: 'e2e-img-secret-0123456789abcdef0123456789abcdef' } })
for (let i = 0; i < 200; i++) {
  try {
    if ((await fetch(`${BASE}/healthz`)).ok) break
  } catch { /* not yet */ }
  await new Promise((r) => setTimeout(r, 50))
}

const ctx = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 800 },
})
// the browser reaches the shop and nothing else: the CDN (here the image
// server) is "down" for it, as it may be for a shopper
const elsewhere = []
await ctx.route((url) => !url.href.startsWith(BASE), (r) => { elsewhere.push(r.request().url()); return r.abort() })
const page = ctx.pages()[0] ?? (await ctx.newPage())
const images = []
page.on('requestfinished', async (rq) => {
  if (rq.resourceType() !== 'image') return
  const res = await rq.response()
  images.push({ url: rq.url(), status: res?.status(), type: res?.headers()['content-type'] })
})
const errors = []
page.on('pageerror', (e) => errors.push(String(e)))

// the notices ("added to your cart") fade after 4 s: wait, so that they
// cover nothing in the screenshots
const noNotices = async () => {
  const deadline = Date.now() + 9000
  while ((await page.locator('[data-testid^="notice-"]').count()) > 0 && Date.now() < deadline)
    await page.waitForTimeout(200)
}
// `focus`: what the phone shot must show (scrolled into view)
const shotBoth = async (name, focus) => {
  await noNotices()
  for (const [w, h] of [[1280, 800], [390, 844]]) {
    await page.setViewportSize({ width: w, height: h })
    await page.waitForTimeout(200)
    if (focus && w < 500) await focus.first().evaluate((e) => e.scrollIntoView({ block: 'start' }))
    await page.screenshot({ path: join(SHOTS, `${name}-${w}x${h}.png`) })
  }
  await page.setViewportSize({ width: 1280, height: 800 })
}
// every <img> inside `loc`: its src is the shop's /media/ copy and it decoded
async function shopImages(loc, want) {
  const deadline = Date.now() + T
  for (;;) {
    const got = await loc.locator('img').evaluateAll((els) => els.map((e) => ({ src: e.currentSrc || e.src, w: e.naturalWidth, done: e.complete })))
    const good = got.filter((g) => g.src.startsWith(BASE + '/media/') && g.done && g.w > 0)
    if (got.length >= want && good.length === got.length) return got
    if (Date.now() > deadline) throw new Error(`expected ${want} images from the shop, got ${JSON.stringify(got)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
const placeholder = async (loc, label) => {
  const ph = loc.getByTestId('image-placeholder')
  await ph.first().waitFor({ timeout: T })
  await expectText(ph, new RegExp(label, 'i'))
  const name = await ph.first().getAttribute('aria-label')
  if (!new RegExp(label).test(name ?? '')) throw new Error(`placeholder named ${name}, not ${label}`)
}

try {
  await step('images: aisle import --fetch-images kept the copies and reported the lying server', async () => {
    if (imp.status !== 1 || !/images: 3 fetched, 0 already stored, 1 failed \(1 products\)/.test(imp.stdout)
      || !/product img-vase .*lying\.png: not an image/.test(imp.stderr))
      throw new Error(`import: ${imp.status}\n${imp.stdout}\n${imp.stderr}`)
  })

  await step('images: the catalog shows the shop\'s copies, and a category placeholder where there is none', async () => {
    await page.goto(BASE + '/catalog', { timeout: T })
    const cards = page.getByTestId('product-card')
    await cards.first().waitFor({ timeout: T })
    for (const sku of ['img-lamp', 'img-mug', 'img-ball'])
      await shopImages(page.locator(`[data-testid="product-card"][data-sku="${sku}"]`), 1)
    await placeholder(page.locator('[data-testid="product-card"][data-sku="img-spoon"]'), 'Kitchen accessories')
    // the vase's copy was refused: its catalog URL is unreachable, so the
    // placeholder names its category rather than a broken image
    await placeholder(page.locator('[data-testid="product-card"][data-sku="img-vase"]'), 'Home decoration')
    await shotBoth('img-catalog', page.locator('[data-testid="product-card"][data-sku="img-spoon"]'))
  })

  await step('images: the chat\'s product cards show the copies', async () => {
    await page.goto(BASE + '/', { timeout: T })
    await page.getByLabel('Message').fill('show me lamps')
    await page.keyboard.press('Enter')
    const card = page.locator('[data-testid="product-card"][data-sku="img-lamp"]')
    await card.first().waitFor({ timeout: T })
    await shopImages(card.first(), 1)
    await page.goto(BASE + '/catalog', { timeout: T })
    await page.getByTestId('product-card').first().waitFor({ timeout: T })
  })

  await step('images: the product page shows the copy', async () => {
    await page.locator('[data-testid="product-card"][data-sku="img-lamp"]').getByRole('link').first().click()
    await page.getByTestId('product-detail').waitFor({ timeout: T })
    await shopImages(page.getByTestId('product-detail'), 1)
  })

  await step('images: the cart shows the thumbnails (and the placeholder)', async () => {
    await page.goto(BASE + '/catalog', { timeout: T })
    for (const sku of ['img-lamp', 'img-ball', 'img-spoon']) {
      const card = page.locator(`[data-testid="product-card"][data-sku="${sku}"]`)
      await card.getByRole('button', { name: /^Add to cart/ }).click()
      await card.getByRole('button', { name: /^Add to cart/ }).waitFor({ timeout: T })
    }
    await expectText(page.getByTestId('cart-count'), /^3$/)
    await page.getByTestId('cart-button').click()
    const drawer = page.getByTestId('cart-drawer')
    await drawer.locator('[data-testid="cart-line"][data-sku="img-spoon"]').waitFor({ timeout: T })
    await shopImages(drawer.locator('[data-testid="cart-line"][data-sku="img-lamp"]'), 1)
    await shopImages(drawer.locator('[data-testid="cart-line"][data-sku="img-ball"]'), 1)
    await placeholder(drawer.locator('[data-testid="cart-line"][data-sku="img-spoon"]'), 'Kitchen')
    await shotBoth('img-cart')
  })

  let orderId = ''
  await step('images: the checkout and its confirmation show the thumbnails', async () => {
    await page.getByRole('button', { name: 'Sign in to check out' }).click()
    const dlg = page.getByTestId('auth-dialog')
    await dlg.getByRole('button', { name: 'Create an account' }).click()
    await dlg.getByLabel('Name').fill('Image Shopper')
    await dlg.getByLabel('E-mail').fill(`img-${Date.now().toString(36)}@example.com`)
    await dlg.getByLabel('Password').fill('correct horse battery')
    await dlg.getByRole('button', { name: 'Create account' }).click()
    const co = page.getByTestId('checkout')
    await co.waitFor({ timeout: T })
    await co.locator('[data-testid="summary-line"]').nth(2).waitFor({ timeout: T })
    await co.getByLabel('Full name').fill('Image Shopper')
    await co.getByLabel('Address', { exact: true }).fill('1 Main Street')
    await co.getByLabel('City').fill('Springfield')
    await co.getByLabel('State / region').fill('IL')
    await co.getByLabel('Postal code').fill('62701')
    await co.getByLabel('Card number').fill('4242 4242 4242 4242')
    await co.getByLabel('Expiry (MM/YY)').fill('12/34')
    await co.getByLabel('CVC').fill('123')
    await shopImages(co.getByTestId('order-summary'), 2)
    await placeholder(co.getByTestId('order-summary'), 'Kitchen')
    await shotBoth('img-checkout', co.getByTestId('order-summary'))
    await co.getByRole('button', { name: /Pay and place order/ }).click()
    await expectText(co.locator('h2'), /Order placed/)
    orderId = (await co.locator('strong').first().innerText()).replace('#', '')
    await shopImages(co.getByTestId('order-summary'), 2)
    await shotBoth('img-order-placed', co.getByTestId('order-summary'))
  })

  await step('images: the order page and the order list show the thumbnails', async () => {
    await page.getByRole('link', { name: 'See order status' }).click()
    const d = page.getByTestId('order-detail')
    await d.waitFor({ timeout: T })
    await shopImages(d.getByTestId('order-summary'), 2)
    await placeholder(d.getByTestId('order-summary'), 'Kitchen')
    await shotBoth('img-order-page')
    await page.getByRole('link', { name: 'All orders' }).click()
    const row = page.getByTestId('order-row').filter({ hasText: `Order #${orderId}` })
    await row.waitFor({ timeout: T })
    await shopImages(row, 2)
    await shotBoth('img-orders')
  })

  await step('images: every image the pages loaded came from the shop (/media/, an image type)', async () => {
    const bad = images.filter((i) => !i.url.startsWith(BASE + '/media/') || i.status !== 200 || !/^image\/(png|gif|jpeg|webp|avif)$/.test(i.type ?? ''))
    if (!images.length || bad.length) throw new Error(`images: ${JSON.stringify(bad.length ? bad : images)}`)
    // the only thing the browser tried elsewhere is the vase's refused source
    const other = elsewhere.filter((u) => !u.endsWith('/lying.png'))
    if (other.length) throw new Error(`requests off the shop: ${JSON.stringify(other)}`)
  })

  await step('images: no script errors in the page', async () => {
    if (errors.length) throw new Error(errors.join('\n'))
  })
} catch {
  const tail = readFileSync(log, 'utf8').split('\n').filter((l) => !l.includes('"event":"access"')).slice(-10).join('\n')
  if (tail) console.log(`# server log:\n${tail.replace(/^/gm, '#   ')}`)
} finally {
  await ctx.close().catch(() => {})
  server.kill('SIGTERM')
  media.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 300))
  rmSync(work, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
