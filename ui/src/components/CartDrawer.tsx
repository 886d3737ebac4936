// The cart drawer: lines with editable quantities, discounts with their
// rule ids, totals; kept live by the server's cart events.
import { useState } from 'react'
import { money } from '../api/client'
import type { Cart, CartLine } from '../api/types'
import { useApp } from '../state'
import { Modal } from './Modal'
import { plural } from '../words'
import { ProductImage } from './product'

function QtyEditor({ line }: { line: CartLine }) {
  const { api, setCart, reportError } = useApp()
  const [busy, setBusy] = useState(false)
  const [typed, setTyped] = useState(String(line.qty))
  // the server changed the quantity (a cart event): show the new one
  const [shown, setShown] = useState(line.qty)
  if (shown !== line.qty) {
    setShown(line.qty)
    setTyped(String(line.qty))
  }
  const commit = () => {
    const q = parseInt(typed, 10)
    if (q !== line.qty) change(q)
  }
  const change = async (qty: number) => {
    if (busy) return
    if (qty < 0 || qty > 999 || Number.isNaN(qty)) {
      setTyped(String(line.qty))
      return
    }
    setBusy(true)
    try {
      setCart(qty === 0 ? await api.removeLine(line.sku) : await api.setQty(line.sku, qty))
    } catch (e) {
      reportError(e)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className="flex items-center gap-1" role="group" aria-label={`Quantity of ${line.title}`}>
      <button type="button" aria-disabled={busy} onClick={() => change(line.qty - 1)} aria-label={`One less ${line.title}`}
        className="h-8 w-8 rounded border border-slate-300 hover:bg-slate-100 disabled:opacity-50">−</button>
      <input type="number" min={0} max={999} value={typed} readOnly={busy} aria-label={`Quantity of ${line.title}`}
        onChange={(e) => setTyped(e.target.value)} onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
        className="h-8 w-14 rounded border border-slate-300 text-center" />
      <button type="button" aria-disabled={busy} onClick={() => change(line.qty + 1)} aria-label={`One more ${line.title}`}
        className="h-8 w-8 rounded border border-slate-300 hover:bg-slate-100 disabled:opacity-50">+</button>
      <button type="button" aria-disabled={busy} onClick={() => change(0)} aria-label={`Remove ${line.title}`}
        className="ml-2 text-sm text-rose-700 underline-offset-2 hover:underline">Remove</button>
    </div>
  )
}

export function CartTotals({ cart }: { cart: Cart }) {
  const discounts = cart.discounts ?? []
  return (
    <dl className="space-y-1 text-sm" data-testid="cart-totals">
      <div className="flex justify-between"><dt>Subtotal</dt><dd>{money(cart.subtotal)}</dd></div>
      {discounts.map((d) => (
        <div key={d.id} className="flex justify-between text-rose-700">
          <dt>{d.reason || d.id} <span className="text-xs text-slate-500">({d.id})</span></dt>
          <dd>−{money(Math.abs(d.amount))}</dd>
        </div>
      ))}
      {!!cart.discountTotal && discounts.length === 0 && (
        <div className="flex justify-between text-rose-700"><dt>Discounts</dt><dd>−{money(cart.discountTotal)}</dd></div>
      )}
      {cart.promoCode && <div className="flex justify-between"><dt>Promo code</dt><dd>{cart.promoCode}</dd></div>}
      <div className="flex justify-between border-t border-slate-200 pt-1 text-base font-semibold">
        <dt>Total</dt><dd data-testid="cart-total">{money(cart.total)}</dd>
      </div>
    </dl>
  )
}

export function CartLines({ cart, editable }: { cart: Cart; editable: boolean }) {
  return (
    <ul className="divide-y divide-slate-200" aria-label="Cart items">
      {cart.items.map((l) => {
        const unit = l.finalPrice ?? l.unitPrice
        const rules = l.appliedRules ?? []
        return (
          <li key={l.sku} className="py-3" data-testid="cart-line" data-sku={l.sku}>
            <div className="flex justify-between gap-3">
              <ProductImage src={l.thumbnail} alt="" category={l.category} compact
                className="h-14 w-14 shrink-0 rounded-md" />
              <div className="min-w-0 flex-1">
                <p className="font-medium">{l.title}</p>
                <p className="text-sm text-slate-600">
                  {money(unit)} each
                  {unit < l.unitPrice - 0.004 && <span className="ml-1 text-slate-500 line-through">{money(l.unitPrice)}</span>}
                  {!editable && <> · qty {l.qty}</>}
                </p>
                {rules.length > 0 && (
                  <p className="text-xs text-rose-700">{rules.map((r) => r.reason || r.id).join(' · ')}</p>
                )}
              </div>
              <p className="font-medium">{money(l.lineTotal)}</p>
            </div>
            {editable && <div className="mt-2 pl-[4.25rem]"><QtyEditor line={l} /></div>}
          </li>
        )
      })}
    </ul>
  )
}

export function CartDrawer() {
  const { cart, open, auth } = useApp()
  const close = () => open(null)
  const empty = !cart || cart.items.length === 0
  return (
    <Modal title="Your cart" onClose={close} side testId="cart-drawer">
      <div className="flex h-full flex-col p-4">
        <p className="sr-only" aria-live="polite">{cart ? `${plural(cart.count, 'item')}, total ${money(cart.total)}` : ''}</p>
        {empty ? (
          <p className="text-slate-600">Your cart is empty. Ask the assistant for something, or browse the catalog.</p>
        ) : (
          <>
            <CartLines cart={cart!} editable />
            <div className="mt-4"><CartTotals cart={cart!} /></div>
            <button type="button" onClick={() => open(auth.user ? 'checkout' : 'signin', 'checkout')}
              className="mt-4 w-full rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800">
              {auth.user ? 'Checkout' : 'Sign in to check out'}
            </button>
          </>
        )}
      </div>
    </Modal>
  )
}
