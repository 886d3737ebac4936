// tests/integration/gateway/checkout.mjs — the real checkout over REST
// against `aisle serve` with the shipped pipeline: the saved address,
// delivery options from the pipeline's settings, the test payment
// provider (decline, retry with the same key, replay), two checkouts of
// one cart at once, the order summary (lines, discounts with reasons,
// delivery, total, e-mail text), and no card number anywhere it is kept.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, req, isProblem, startServer, stopServer, TEST_ADDRESS, TEST_CARD } from './lib.mjs';
import { register } from './rest.mjs';

const SKU = 'BEA-ESS-ESS-001'; // Essence Mascara, $9.99, beauty: buy 2 get 1 free
const stockOf = async (srv, sku) => (await req(srv, 'GET', `/api/v1/products/${sku}`)).json?.stock;
const orders = async (srv, tok) => (await req(srv, 'GET', '/api/v1/orders', { token: tok })).json?.items ?? [];
const cents = (x) => Math.round(x * 100);

export async function checkoutTests() {
  const srv = await startServer({
    pipeline: 'pipelines/commerce.yaml',
    yaml: 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n',
  });
  try {
    const tok = (await register(srv, 'checkout@example.com')).json.accessToken;
    const post = (key, body) => req(srv, 'POST', '/api/v1/orders', { token: tok, body, headers: { 'Idempotency-Key': key } });

    // the saved address
    let r = await req(srv, 'GET', '/api/v1/me/address', { token: tok });
    ok(isProblem(r, 404, 'not-found'), 'checkout: no saved address yet is 404', r.text);
    const bad = [
      [{ ...TEST_ADDRESS, postalCode: '627<01>' }, 'address.postalCode'],
      [{ ...TEST_ADDRESS, name: '' }, 'address.name'],
      [{ ...TEST_ADDRESS, country: 'USA' }, 'address.country'],
      [{ ...TEST_ADDRESS, line1: 'x'.repeat(500) }, 'address.line1'],
      [{ ...TEST_ADDRESS, city: 42 }, 'address.city'],
      [{ ...TEST_ADDRESS, secret: 'x' }, 'address'],
    ];
    for (const [a, field] of bad) {
      r = await req(srv, 'PUT', '/api/v1/me/address', { token: tok, body: a });
      ok(isProblem(r, 422, 'validation') && r.json.field === field && r.json.detail, `checkout: bad ${field} is 422 naming the field`, r.text);
    }
    r = await req(srv, 'PUT', '/api/v1/me/address', { token: tok, body: { ...TEST_ADDRESS, country: 'us', city: '  Springfield ' } });
    ok(r.status === 200 && r.json.country === 'US' && r.json.city === 'Springfield', 'checkout: address saved, cleaned', r.text);
    r = await req(srv, 'GET', '/api/v1/me/address', { token: tok });
    ok(r.status === 200 && r.json.line1 === TEST_ADDRESS.line1, 'checkout: saved address read back', r.text);
    r = await req(srv, 'GET', '/api/v1/me/address');
    ok(r.status === 401, 'checkout: the address needs a signed-in user', r.text);

    // delivery options priced for the cart
    await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty: 3 } });
    r = await req(srv, 'GET', '/api/v1/cart/delivery-options', { token: tok });
    const std = r.json?.items?.find((o) => o.id === 'standard'), exp = r.json?.items?.find((o) => o.id === 'express');
    ok(r.status === 200 && r.json.currency === 'USD' && std?.price === 4.9 && std.freeOver === 50 && exp?.price === 9.9,
      'checkout: delivery options from the pipeline settings with prices', r.text);

    // where they go (issue #11): only the options for the country asked,
    // an address no option goes to refused, never another option's price
    r = await req(srv, 'GET', '/api/v1/cart/delivery-options?country=pt', { token: tok });
    ok(r.status === 200 && r.json.country === 'PT' && r.json.items.map((o) => o.id).join() === 'international' &&
      r.json.items[0].price === 19.9 && r.json.items[0].freeOver === 150 && r.json.items[0].countries.includes('PT') &&
      r.json.chosen?.id === 'international', 'checkout: ?country=pt lists international delivery only, at $19.90', r.text);
    r = await req(srv, 'GET', '/api/v1/cart/delivery-options?country=AU', { token: tok });
    ok(r.status === 200 && r.json.items.length === 0 && !r.json.chosen && r.json.refused?.field === 'address.country' &&
      /can't deliver to Australia yet/.test(r.json.refused.reason), 'checkout: ?country=AU lists nothing and says why', r.text);
    r = await req(srv, 'GET', '/api/v1/cart/delivery-options?country=Portugal', { token: tok });
    ok(isProblem(r, 400, 'invalid-parameter'), 'checkout: ?country that is no two-letter code is 400', r.text);
    r = await req(srv, 'PUT', '/api/v1/me/address', { token: tok, body: { ...TEST_ADDRESS, city: 'Sydney', country: 'AU' } });
    ok(isProblem(r, 422, 'validation') && r.json.field === 'address.country' && /can't deliver to Australia yet/.test(r.json.detail),
      'checkout: an address in a country the shop does not deliver to is not saved (422)', r.text);
    r = await req(srv, 'GET', '/api/v1/me/address', { token: tok });
    ok(r.json?.country === 'US', 'checkout: the saved address is still the US one', r.text);
    const lisbon = { name: 'Ana Silva', line1: '12 Rua Augusta', city: 'Lisboa', postalCode: '1100-048', country: 'PT' };
    for (const [body, field, re] of [[{ address: lisbon, deliveryOption: 'express', payment: TEST_CARD }, 'delivery', /Express delivery does not deliver to Portugal/],
      [{ address: lisbon, deliveryOption: 'standard', payment: TEST_CARD }, 'delivery', /Standard delivery does not deliver to Portugal/],
      [{ address: { ...lisbon, country: 'AU' }, payment: TEST_CARD }, 'address.country', /can't deliver to Australia yet/]]) {
      r = await post(`region-${field}-${body.deliveryOption}`, body);
      ok(isProblem(r, 422, 'validation') && r.json.field === field && re.test(r.json.detail),
        `checkout: ${body.address.country} with ${body.deliveryOption || 'no option'} is 422 on ${field}, nothing ordered`, r.text);
    }
    ok((await orders(srv, tok)).length === 0, 'checkout: the refused orders placed nothing');

    // bad facts: 4xx naming the fact, nothing ordered
    const stock0 = await stockOf(srv, SKU);
    const badBodies = [
      [{ deliveryOption: 'drone', payment: TEST_CARD }, 422, 'delivery'],
      [{ payment: { ...TEST_CARD, cardNumber: '4242 4242 4242 4241' } }, 422, 'payment.cardNumber'],
      [{ payment: { ...TEST_CARD, cardNumber: '4242' } }, 422, 'payment.cardNumber'],
      [{ payment: { ...TEST_CARD, expiry: '01/20' } }, 422, 'payment.expiry'],
      [{ payment: { ...TEST_CARD, expiry: '13/30' } }, 422, 'payment.expiry'],
      [{ payment: { ...TEST_CARD, cvc: '1' } }, 422, 'payment.cvc'],
      [{}, 422, 'payment'],
      [{ payment: 'card' }, 422, 'payment'],
      [{ payment: TEST_CARD, address: { ...TEST_ADDRESS, postalCode: '' } }, 422, 'address.postalCode'],
    ];
    for (const [body, status, field] of badBodies) {
      r = await post('bad-' + field, body);
      ok(isProblem(r, status, 'validation') && r.json.field === field, `checkout: bad ${field} is ${status} naming it`, r.text);
    }
    r = await req(srv, 'POST', '/api/v1/orders', { token: tok, body: '{"payment":', headers: { 'Idempotency-Key': 'bad-json' } });
    ok(isProblem(r, 400, 'invalid-json'), 'checkout: malformed JSON is 400', r.text);

    // declined: no order, no stock taken, the same key may try another card
    r = await post('co-1', { deliveryOption: 'express', payment: { ...TEST_CARD, cardNumber: '4000 0000 0000 0002' } });
    ok(isProblem(r, 402, 'payment-declined') && /declined/.test(r.json.detail) && r.json.field === 'payment',
      'checkout: a declined card is 402 payment-declined', r.text);
    ok((await orders(srv, tok)).length === 0 && (await stockOf(srv, SKU)) === stock0, 'checkout: declined: no order, no stock taken');
    const cart = (await req(srv, 'GET', '/api/v1/cart', { token: tok })).json;
    ok(cart.items?.[0]?.qty === 3, 'checkout: declined: the cart is unchanged', cart);

    r = await post('co-1', { deliveryOption: 'express', payment: TEST_CARD });
    const order = r.json;
    const disc = order?.discounts?.find((d) => /buy 2, get 1 free/.test(d.reason));
    ok(r.status === 201 && order.status === 'placed', 'checkout: the retry with another card places the order', r.text);
    ok(disc && cents(disc.amount) === 999 && order.delivery?.id === 'express' && cents(order.delivery.price) === 990 &&
       cents(order.subtotal) === 2997 && cents(order.total) === 2997 - 999 + 990,
       'checkout: total = lines - discounts + delivery, each discount with its reason', order);
    ok(order.address?.line1 === TEST_ADDRESS.line1 && order.payment?.brand === 'visa' && order.payment.last4 === '4242' &&
       /^test_ch_/.test(order.payment.reference), 'checkout: the order keeps the saved address, card brand, last 4, reference', order);
    ok(typeof order.emailText === 'string' && order.emailText.includes('beauty: buy 2, get 1 free') &&
       order.emailText.includes('Express delivery') && order.emailText.includes('Total: $29.88') &&
       order.emailText.includes('Visa ending in 4242'), 'checkout: the confirmation e-mail text is kept with the order', order.emailText);
    ok(!JSON.stringify(order).includes('4242424242424242') && !JSON.stringify(order).includes('4242 4242'), 'checkout: no card number in the order');
    ok((await stockOf(srv, SKU)) === stock0 - 3, 'checkout: stock taken once');

    r = await post('co-1', { deliveryOption: 'express', payment: TEST_CARD });
    ok(r.status === 200 && r.json.id === order.id && r.headers.get('idempotent-replayed') === 'true' &&
       r.json.payment?.reference === order.payment.reference, 'checkout: the same key again returns the first order, not a new charge', r.text);
    r = await req(srv, 'GET', `/api/v1/orders/${order.id}`, { token: tok });
    ok(r.status === 200 && r.json.emailText === order.emailText && cents(r.json.total) === cents(order.total) &&
       r.json.discounts?.[0]?.reason === disc.reason, 'checkout: GET /orders/{id} shows the same summary', r.text);
    ok((await orders(srv, tok)).length === 1 && (await stockOf(srv, SKU)) === stock0 - 3, 'checkout: one order, stock taken once');

    // two checkouts of one cart at once (different keys): one order
    await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty: 1 } });
    const body = { address: { ...TEST_ADDRESS, name: 'Bob Builder' }, saveAddress: true, payment: TEST_CARD };
    const two = await Promise.all([post('par-a', body), post('par-b', body)]);
    const st = two.map((x) => x.status).sort();
    ok(st[0] === 201 && st[1] === 409, 'checkout: two checkouts of one cart at once: one 201, one 409', two.map((x) => x.text));
    const placed = two.find((x) => x.status === 201)?.json;
    ok(placed && cents(placed.delivery?.price) === 490 && cents(placed.total) === 999 + 490, 'checkout: standard delivery below its free threshold', placed);
    ok((await orders(srv, tok)).length === 2 && (await stockOf(srv, SKU)) === stock0 - 4, 'checkout: one more order, one more unit');
    r = await req(srv, 'GET', '/api/v1/me/address', { token: tok });
    ok(r.json?.name === 'Bob Builder', 'checkout: saveAddress keeps the new address', r.text);

    // the same key many times at once: one order
    await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty: 8 } });
    const many = await Promise.all(Array.from({ length: 8 }, () => post('same-key', { payment: TEST_CARD })));
    const created = many.filter((x) => x.status === 201).length, replays = many.filter((x) => x.status === 200).length;
    ok(created === 1 && replays === 7 && new Set(many.map((x) => x.json?.id)).size === 1,
      'checkout: one key sent 8 times at once: one order', many.map((x) => x.status));
    const big = many.find((x) => x.status === 201)?.json;
    ok(big && cents(big.delivery.price) === 0 && big.discounts.length > 0, 'checkout: standard delivery is free from $50 (after discounts)', big);

    // the saved card: kept by the provider, shown as brand and last 4
    r = await req(srv, 'GET', '/api/v1/me/payment-method', { token: tok });
    ok(isProblem(r, 404, 'not-found'), 'checkout: no saved card yet is 404', r.text);
    r = await req(srv, 'PUT', '/api/v1/me/payment-method', { token: tok, body: { ...TEST_CARD, cvc: 'abc' } });
    ok(isProblem(r, 422, 'validation') && r.json.field === 'payment.cvc', 'checkout: a bad card is not saved (422)', r.text);
    r = await req(srv, 'PUT', '/api/v1/me/payment-method', { token: tok, body: { ...TEST_CARD, cardNumber: '4000 0000 0000 0002' } });
    ok(isProblem(r, 402, 'payment-declined'), 'checkout: a card the provider refuses is not saved (402)', r.text);
    await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty: 1 } });
    r = await post('saved-1', { payment: { saved: true } });
    ok(isProblem(r, 422, 'validation') && r.json.field === 'payment', 'checkout: paying with a saved card when none is saved is 422', r.text);
    r = await post('save-1', { payment: TEST_CARD, savePayment: true });
    ok(r.status === 201 && r.json.payment?.last4 === '4242' && !r.json.payment.saved, 'checkout: an order may save its card', r.text);
    r = await req(srv, 'GET', '/api/v1/me/payment-method', { token: tok });
    ok(r.status === 200 && r.json.brand === 'visa' && r.json.last4 === '4242' && !('token' in r.json) && !r.text.includes('4242424242424242'),
      'checkout: the saved card shows brand and last 4 only', r.text);
    await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty: 1 } });
    r = await post('saved-2', { payment: { saved: true } });
    ok(r.status === 201 && r.json.payment?.saved === true && r.json.payment.last4 === '4242' && r.json.payment.status === 'paid',
      'checkout: an order paid with the saved card', r.text);
    r = await req(srv, 'DELETE', '/api/v1/me/payment-method', { token: tok });
    ok(r.status === 204, 'checkout: the saved card is forgotten (204)', r.text);
    r = await req(srv, 'GET', '/api/v1/me/payment-method', { token: tok });
    ok(isProblem(r, 404, 'not-found'), 'checkout: no saved card after forgetting it', r.text);

    // nothing that is kept holds a card number
    const db = join(srv.dir, 'aisle.db');
    const kept = [db, db + '-wal'].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('');
    ok(!kept.includes('4242424242424242') && !kept.includes('4000000000000002') && !kept.includes('4242 4242 4242 4242'),
      'checkout: the database holds no card number');
    ok(!srv.out.includes('4242424242424242') && !srv.err.includes('4242424242424242'), 'checkout: the logs hold no card number');
  } finally {
    await stopServer(srv);
  }
}
