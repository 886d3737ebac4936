// tests/integration/gateway/media.mjs — the shop's own copies of product
// images end to end: a loopback image server (tests/integration/
// media_server.py, no outside network), `aisle import --fetch-images` into
// the database of a running `aisle serve`, then the product JSON (checked
// against gateway/openapi.json) names /media/<sha256>.<ext>, the server
// serves those exact bytes with the right type, ETag and immutable cache
// headers, refuses every other name, and the order lines carry the
// thumbnail.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ok, skip, req, startServer, stopServer, AISLE, CHECKOUT, saveCheckoutFacts } from './lib.mjs';
import { register } from './rest.mjs';

// the loopback image server: resolves to {base, proc}
export async function startMediaServer() {
  const proc = spawn('python3', ['tests/integration/media_server.py'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    proc.on('error', reject);
    proc.on('exit', (c) => reject(new Error(`media_server.py exited ${c}`)));
    proc.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
  });
  return { base: `http://127.0.0.1:${port}`, proc };
}

export function imageCatalog(M) {
  return {
    products: [
      { sku: 'img-lamp', title: 'Red Lamp', category: 'lighting', price: 12, stock: 9, thumbnail: `${M}/red.png`, images: [`${M}/red.png`, `${M}/green.png`] },
      { sku: 'img-dot', title: 'Yellow Dot', category: 'toys', price: 3, stock: 9, thumbnail: `${M}/dot.gif`, images: [`${M}/missing.png`] },
      { sku: 'img-liar', title: 'Liar Vase', category: 'home-decoration', price: 20, stock: 9, thumbnail: `${M}/lying.png`, images: [] },
      { sku: 'img-none', title: 'Plain Spoon', category: 'kitchen-accessories', price: 2, stock: 9 },
      { sku: 'img-large', title: 'Large Poster', category: 'home-decoration', price: 9, stock: 9, thumbnail: `${M}/large.png` },
    ],
  };
}

async function ajvFor(doc) {
  const Ajv2020 = (await import('ajv/dist/2020.js')).default;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'openapi');
  return (name) => ajv.getSchema(`openapi#/components/schemas/${name}`);
}

export async function mediaTests() {
  if (spawnSync('python3', ['--version']).status !== 0) {
    skip('media', 'python3 is not installed (the loopback image server)');
    return;
  }
  const doc = JSON.parse(readFileSync('gateway/openapi.json', 'utf8'));
  const schema = await ajvFor(doc);
  const media = await startMediaServer();
  const M = media.base;
  let srv;
  try {
    srv = await startServer({
      seed: false, pipeline: 'pipelines/commerce.yaml',
      yaml: 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n',
    });
    const cat = join(srv.dir, 'images.json');
    writeFileSync(cat, JSON.stringify(imageCatalog(M)));
    // without --fetch-images the product names the catalog's URL only
    let imp = spawnSync(AISLE, ['import', '--catalog', cat, '--db', join(srv.dir, 'aisle.db')], { encoding: 'utf8' });
    let r = await req(srv, 'GET', '/api/v1/products/img-lamp');
    ok(imp.status === 0 && r.status === 200 && r.json.thumbnail === `${M}/red.png` && !('originalThumbnail' in r.json),
      'media: before --fetch-images the product names the catalog URL', imp.stderr + r.text);

    // into the running server's database: it sees the copies without a restart
    imp = spawnSync(AISLE, ['import', '--db', join(srv.dir, 'aisle.db'), '--fetch-images', '--fetch-timeout', '3'], { encoding: 'utf8' });
    ok(imp.status === 1 && /images: 4 fetched, 0 already stored, 2 failed \(2 products\)/.test(imp.stdout)
      && /product img-liar \(Liar Vase\): .*lying\.png: not an image/.test(imp.stderr)
      && /product img-dot \(Yellow Dot\): .*missing\.png: HTTP 404/.test(imp.stderr),
    'media: aisle import --fetch-images stores 4, reports the 2 failures with their products', imp.stdout + imp.stderr);
    const files = readdirSync(join(srv.dir, 'media')).filter((f) => /^[0-9a-f]{64}\.(png|gif)$/.test(f));
    ok(files.length === 4, 'media: the copies are files beside the database (media/)', files);

    const red = Buffer.from(await (await fetch(`${M}/red.png`)).arrayBuffer());
    const redName = createHash('sha256').update(red).digest('hex') + '.png';
    r = await req(srv, 'GET', '/api/v1/products/img-lamp');
    const product = schema('Product');
    ok(r.status === 200 && r.json.thumbnail === `/media/${redName}` && r.json.originalThumbnail === `${M}/red.png`
      && r.json.images[0] === `/media/${redName}` && /^\/media\/[0-9a-f]{64}\.png$/.test(r.json.images[1])
      && JSON.stringify(r.json.originalImages) === JSON.stringify([`${M}/red.png`, `${M}/green.png`]),
    'media: product JSON names the shop\'s copies and keeps the original URLs', r.text);
    ok(product && product(r.json), 'media: the product with copies matches the OpenAPI Product schema', product?.errors);
    ok(product && !product({ ...r.json, originalImages: 'x' }) && !product({ ...r.json, originalThumbnail: 7 }),
      'media: the schema check can fail (originalImages not an array)');
    r = await req(srv, 'GET', '/api/v1/products/img-dot');
    ok(/^\/media\/[0-9a-f]{64}\.gif$/.test(r.json?.thumbnail) && r.json.images[0] === `${M}/missing.png`
      && r.json.originalThumbnail === `${M}/dot.gif` && !('originalImages' in r.json),
    'media: an image that failed keeps its catalog URL', r.text);
    r = await req(srv, 'GET', '/api/v1/products/img-liar');
    ok(r.json?.thumbnail === `${M}/lying.png` && !('originalThumbnail' in r.json), 'media: nothing stored for the lying server', r.text);
    r = await req(srv, 'GET', '/api/v1/products?q=lamp');
    const hit = r.json?.items?.find((p) => p.sku === 'img-lamp');
    ok(hit?.thumbnail === `/media/${redName}`, 'media: search results name the copies too', r.text);
    ok(schema('ProductPage')?.(r.json) === true, 'media: the search page matches the OpenAPI ProductPage schema', schema('ProductPage')?.errors);

    // the copy itself: the same bytes as the source, its type, cacheable forever
    const got = await fetch(srv.base + `/media/${redName}`);
    const body = Buffer.from(await got.arrayBuffer());
    ok(got.status === 200 && got.headers.get('content-type') === 'image/png' && body.equals(red)
      && got.headers.get('etag') === `"${redName.slice(0, 64)}"`
      && got.headers.get('cache-control') === 'public, max-age=31536000, immutable'
      && got.headers.get('x-content-type-options') === 'nosniff',
    'media: GET /media/<sha256>.png serves the stored bytes with type, ETag and immutable caching',
    [got.status, [...got.headers], body.length]);
    const gif = await fetch(srv.base + (await req(srv, 'GET', '/api/v1/products/img-dot')).json.thumbnail);
    ok(gif.status === 200 && gif.headers.get('content-type') === 'image/gif', 'media: a GIF is served as image/gif');
    // a copy of 3 MiB comes back whole, sent in pieces
    const large = Buffer.from(await (await fetch(`${M}/large.png`)).arrayBuffer());
    const lp = (await req(srv, 'GET', '/api/v1/products/img-large')).json?.thumbnail;
    const lg = await fetch(srv.base + lp);
    const lb = Buffer.from(await lg.arrayBuffer());
    ok(lg.status === 200 && lb.length === large.length && lb.equals(large) && Number(lg.headers.get('content-length')) === large.length,
      'media: a 3 MiB copy is served whole (streamed in pieces)', [lp, lg.status, lb.length, large.length]);
    const again = await fetch(srv.base + `/media/${redName}`, { headers: { 'If-None-Match': got.headers.get('etag') } });
    ok(again.status === 304 && (await again.arrayBuffer()).byteLength === 0, 'media: If-None-Match with the ETag answers 304', again.status);
    // no other name reaches the disk
    const bad = ['/media/' + 'f'.repeat(64) + '.png', `/media/${redName.toUpperCase()}`, `/media/${redName.slice(0, 64)}.svg`,
      '/media/index.tsv', '/media/..%2faisle.db', '/media/%2e%2e/aisle.db', '/media/../aisle.db', `/media/${redName}/x`, '/media/'];
    const answers = [];
    for (const p of bad) {
      const a = await fetch(srv.base + p);
      const t = await a.text();
      answers.push([p, a.status, t.slice(0, 40)]);
    }
    ok(answers.every(([, s, t]) => s === 404 && !t.includes('SQLite') && !t.includes('http://')),
      'media: unknown names, other types, the index and traversal attempts are 404', answers);

    // order lines carry the product's thumbnail and category
    const tok = (await register(srv, 'media@example.com')).json.accessToken;
    await saveCheckoutFacts(srv, tok);
    r = await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: 'img-lamp', qty: 1 } });
    const cartLine = r.json?.items?.[0];
    ok(r.status === 200 && cartLine?.thumbnail === `/media/${redName}` && cartLine?.category === 'lighting',
      'media: the cart line names the copy and the category', r.text);
    r = await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: 'img-none', qty: 1 } });
    r = await req(srv, 'POST', '/api/v1/orders', { token: tok, body: CHECKOUT, headers: { 'Idempotency-Key': 'media-order-1' } });
    const id = r.json?.id;
    r = await req(srv, 'GET', `/api/v1/orders/${id}`, { token: tok });
    const lamp = r.json?.lines?.find((l) => l.sku === 'img-lamp');
    const spoon = r.json?.lines?.find((l) => l.sku === 'img-none');
    ok(r.status === 200 && lamp?.thumbnail === `/media/${redName}` && lamp?.category === 'lighting'
      && spoon && !('thumbnail' in spoon) && spoon.category === 'kitchen-accessories',
    'media: order lines carry the thumbnail (or none) and the category', r.text);
    ok(schema('Order')?.(r.json), 'media: the order matches the OpenAPI Order schema', schema('Order')?.errors);
    r = await req(srv, 'GET', '/api/v1/orders', { token: tok });
    ok(r.json?.items?.[0]?.lines?.some((l) => l.thumbnail === `/media/${redName}`), 'media: the order list carries the thumbnails', r.text);
  } finally {
    await stopServer(srv);
    media.proc.kill('SIGTERM');
  }
  ok(srv && !/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(srv.err), 'media: no sanitizer report from the server', srv?.err.slice(-2000));
}
