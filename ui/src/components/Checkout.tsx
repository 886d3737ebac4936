// Checkout: delivery address (prefilled from the saved one), delivery
// option (from the shop's settings, priced for this cart), test payment
// card, and the summary with every discount and its reason; then the
// order is placed once.  The Idempotency-Key is made when the checkout
// opens, so a double click, a retry after a dropped answer, or another
// card after a decline never places or charges twice.
import { useEffect, useId, useState } from 'react'
import { ApiError, money, newId } from '../api/client'
import type { Address, DeliveryOption, Order, SavedCard } from '../api/types'
import { Link } from '../router'
import { useApp } from '../state'
import { Modal } from './Modal'
import { AddressBlock, brandName, COUNTRIES, OrderSummary, PaymentLine, summaryOfCart, summaryOfOrder } from './OrderSummary'

const EMPTY: Address = { name: '', line1: '', line2: '', city: '', region: '', postalCode: '', country: 'US' }

const input = 'mt-1 w-full rounded-md border border-slate-400 px-2 py-1.5 aria-[invalid=true]:border-rose-700'

function Field({ label, name, value, onChange, error, optional, ...rest }: {
  label: string; name: string; value: string; onChange: (v: string) => void; error?: string; optional?: boolean
} & Omit<React.InputHTMLAttributes<HTMLInputElement>, 'onChange' | 'value' | 'name'>) {
  const id = useId()
  return (
    <div className="text-sm">
      <label htmlFor={id}>{label}{optional && <span className="text-slate-600"> (optional)</span>}</label>
      <input id={id} name={name} value={value} onChange={(e) => onChange(e.target.value)} className={input}
        aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-err` : undefined} {...rest} />
      {error && <p id={`${id}-err`} className="text-xs text-rose-800">{error}</p>}
    </div>
  )
}

export function Checkout() {
  const { api, cart, open, refreshCart, auth, prefill } = useApp()
  const [key] = useState(newId)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [order, setOrder] = useState<Order | null>(null)
  // the chat's hand-over: the address it collected (the shopper chose not
  // to save it there, so it is not saved here unless ticked) and the option
  const [addr, setAddr] = useState<Address>(() => ({ ...EMPTY, ...prefill?.address }))
  const [save, setSave] = useState(!prefill?.address)
  const [options, setOptions] = useState<DeliveryOption[]>([])
  const [refused, setRefused] = useState('')   // why no option goes to the address's country
  const [choice, setChoice] = useState('')
  const [card, setCard] = useState({ cardNumber: '', expiry: '', cvc: '' })
  const [saved, setSaved] = useState<SavedCard | null>(null)
  const [useSaved, setUseSaved] = useState(false)
  const [keepCard, setKeepCard] = useState(false)
  const close = () => open(null)

  useEffect(() => {
    let live = true
    if (!prefill?.address) api.address().then((a) => { if (live && a) setAddr({ ...EMPTY, ...a }) }).catch(() => {})
    api.savedCard().then((c) => { if (live && c) { setSaved(c); setUseSaved(true) } }).catch(() => {})
    return () => { live = false }
  }, [api, prefill])
  // the options' prices depend on the cart (free from a threshold), and
  // which options there are on the address's country (the shop decides)
  const cartTotal = cart?.total
  const country = addr.country
  useEffect(() => {
    let live = true
    api.deliveryOptions(country).then((d) => {
      if (!live) return
      setOptions(d.items)
      setRefused(d.refused?.field === 'address.country' ? d.refused.reason : '')
      const want = prefill?.delivery
      setChoice((c) => (c && d.items.some((o) => o.id === c) ? c
        : want && d.items.some((o) => o.id === want) ? want : d.items[0]?.id ?? ''))
    }).catch(() => {})
    return () => { live = false }
  }, [api, cartTotal, prefill, country])

  const setA = (k: keyof Address) => (v: string) => setAddr((a) => ({ ...a, [k]: v }))
  const err = (f: string) => errors[f]
  const chosen = options.find((o) => o.id === choice)

  const place = async (e: React.FormEvent) => {
    e.preventDefault()
    setBusy(true)
    setError('')
    setErrors({})
    try {
      const a: Address = { ...addr }
      for (const k of ['line2', 'region', 'phone'] as const) if (!a[k]) delete a[k]
      setOrder(await api.placeOrder(key, {
        address: a, saveAddress: save, deliveryOption: choice || undefined,
        ...(useSaved && saved ? { payment: { saved: true } } : { payment: card, savePayment: keepCard }),
      }))
      await refreshCart()
    } catch (x) {
      if (x instanceof ApiError && x.status === 401) {
        open('signin', 'checkout')
        return
      }
      if (x instanceof ApiError && x.field) setErrors({ [x.field]: x.detail ?? x.message })
      setError(x instanceof ApiError ? x.describe() : String(x))
    } finally {
      setBusy(false)
    }
  }

  if (order)
    return (
      <Modal title="Order placed" onClose={close} testId="checkout" wide>
        <div className="space-y-3 p-4" role="status">
          <p className="text-lg">Thank you{auth.user?.name ? `, ${auth.user.name}` : ''}! Your order <strong>#{order.id}</strong> is {order.status}.</p>
          <OrderSummary summary={summaryOfOrder(order)} totalLabel="Total charged" />
          <div className="grid gap-3 sm:grid-cols-2">
            {order.address && <div><h3 className="text-sm font-semibold">Delivery to</h3><AddressBlock a={order.address} /></div>}
            {order.payment && <div><h3 className="text-sm font-semibold">Payment</h3><PaymentLine p={order.payment} /></div>}
          </div>
          <p className="text-sm text-slate-600">A confirmation e-mail with this summary is kept with your order.</p>
          <div className="flex flex-wrap gap-2">
            <Link href={`/orders/${order.id}`} onClick={close} data-autofocus
              className="rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800">See order status</Link>
            <button type="button" onClick={close} className="rounded-md border border-slate-400 px-4 py-2">Keep shopping</button>
          </div>
        </div>
      </Modal>
    )

  const empty = !cart || cart.items.length === 0
  return (
    <Modal title="Checkout" onClose={close} testId="checkout" wide>
      {empty ? <p className="p-4">Your cart is empty.</p> : (
        <form className="grid gap-4 p-4 md:grid-cols-2" onSubmit={place} noValidate>
          <div className="space-y-4">
            <p className="text-sm text-slate-600">Signed in as {auth.user?.email}.</p>
            <fieldset className="space-y-2" data-testid="checkout-address">
              <legend className="font-semibold">Delivery address</legend>
              <Field label="Full name" name="name" value={addr.name} onChange={setA('name')} error={err('address.name')} autoComplete="name" data-autofocus />
              <Field label="Address" name="line1" value={addr.line1} onChange={setA('line1')} error={err('address.line1')} autoComplete="address-line1" />
              <Field label="Apartment, suite" name="line2" optional value={addr.line2 ?? ''} onChange={setA('line2')} error={err('address.line2')} autoComplete="address-line2" />
              <div className="grid grid-cols-2 gap-2">
                <Field label="City" name="city" value={addr.city} onChange={setA('city')} error={err('address.city')} autoComplete="address-level2" />
                <Field label="State / region" name="region" optional value={addr.region ?? ''} onChange={setA('region')} error={err('address.region')} autoComplete="address-level1" />
                <Field label="Postal code" name="postalCode" value={addr.postalCode} onChange={setA('postalCode')} error={err('address.postalCode')} autoComplete="postal-code" />
                <label className="block text-sm">Country
                  <select name="country" value={addr.country} onChange={(e) => setA('country')(e.target.value)} className={input} autoComplete="country"
                    aria-invalid={err('address.country') ? true : undefined}>
                    {COUNTRIES.map(([c, n]) => <option key={c} value={c}>{n}</option>)}
                    {!COUNTRIES.some(([c]) => c === addr.country) && <option value={addr.country}>{addr.country}</option>}
                  </select>
                </label>
              </div>
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" checked={save} onChange={(e) => setSave(e.target.checked)} /> Save this address for next time
              </label>
            </fieldset>
            {refused && <p className="text-sm text-rose-800" data-testid="checkout-delivery-refused">Sorry, {refused}.</p>}
            {options.length > 0 && (
              <fieldset className="space-y-1" data-testid="checkout-delivery">
                <legend className="font-semibold">Delivery</legend>
                {options.map((o) => (
                  <label key={o.id} className="flex items-center gap-2 rounded-md border border-slate-300 px-2 py-1.5 text-sm has-[:checked]:border-brand-700">
                    <input type="radio" name="delivery" value={o.id} checked={choice === o.id} onChange={() => setChoice(o.id)} />
                    <span className="flex-1">{o.name} <span className="text-slate-600">· {o.days}</span>
                      {o.freeOver !== undefined && o.price > 0 && <span className="block text-xs text-slate-600">Free from {money(o.freeOver)}</span>}
                    </span>
                    <span className="font-medium">{o.price === 0 ? 'Free' : money(o.price)}</span>
                  </label>
                ))}
                {err('delivery') && <p className="text-xs text-rose-800">{err('delivery')}</p>}
              </fieldset>
            )}
            <fieldset className="space-y-2" data-testid="checkout-payment">
              <legend className="font-semibold">Payment</legend>
              <p className="rounded bg-amber-50 p-2 text-xs text-amber-950">
                Test payments only, no money moves: 4242 4242 4242 4242 is accepted, 4000 0000 0000 0002 is declined. Any future expiry, any 3-digit CVC.
              </p>
              {saved && (
                <div className="space-y-1 text-sm">
                  <label className="flex items-center gap-2">
                    <input type="radio" name="card" checked={useSaved} onChange={() => setUseSaved(true)} />
                    Saved {brandName(saved.brand)} ending in {saved.last4}
                  </label>
                  <label className="flex items-center gap-2">
                    <input type="radio" name="card" checked={!useSaved} onChange={() => setUseSaved(false)} /> Another card
                  </label>
                </div>
              )}
              {(!saved || !useSaved) && (
                <>
                  <Field label="Card number" name="cardNumber" value={card.cardNumber} inputMode="numeric" autoComplete="cc-number" maxLength={23}
                    onChange={(v) => setCard((c) => ({ ...c, cardNumber: v }))} error={err('payment.cardNumber') ?? err('payment')} />
                  <div className="grid grid-cols-2 gap-2">
                    <Field label="Expiry (MM/YY)" name="expiry" value={card.expiry} autoComplete="cc-exp" maxLength={7} placeholder="MM/YY"
                      onChange={(v) => setCard((c) => ({ ...c, expiry: v }))} error={err('payment.expiry')} />
                    <Field label="CVC" name="cvc" value={card.cvc} inputMode="numeric" autoComplete="cc-csc" maxLength={4}
                      onChange={(v) => setCard((c) => ({ ...c, cvc: v }))} error={err('payment.cvc')} />
                  </div>
                  <label className="flex items-center gap-2 text-sm">
                    <input type="checkbox" checked={keepCard} onChange={(e) => setKeepCard(e.target.checked)} /> Save this card for orders in the chat
                  </label>
                </>
              )}
            </fieldset>
          </div>
          <div className="space-y-3 md:sticky md:top-0 md:self-start">
            <h3 className="font-semibold">Order summary</h3>
            <OrderSummary summary={summaryOfCart(cart!, chosen)} />
            <p role="alert" className="text-sm text-rose-800">{error}</p>
            <div className="flex flex-wrap gap-2">
              <button type="submit" disabled={busy}
                className="flex-1 rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800 disabled:bg-slate-500">
                {busy ? 'Placing order…' : `Pay and place order · ${money(summaryOfCart(cart!, chosen).total)}`}
              </button>
              <button type="button" onClick={() => open('cart')} className="rounded-md border border-slate-400 px-4 py-2">Back to cart</button>
            </div>
          </div>
        </form>
      )}
    </Modal>
  )
}
