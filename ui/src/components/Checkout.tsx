// Checkout with a confirmation step: review the cart, then place the
// order once.  The Idempotency-Key is made when the review opens, so a
// double click or a retry after a dropped answer places one order.
import { useState } from 'react'
import { ApiError, money, newId } from '../api/client'
import type { Order } from '../api/types'
import { Link } from '../router'
import { useApp } from '../state'
import { CartLines, CartTotals } from './CartDrawer'
import { Modal } from './Modal'

export function Checkout() {
  const { api, cart, open, refreshCart, auth } = useApp()
  const [key] = useState(newId)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState('')
  const [order, setOrder] = useState<Order | null>(null)
  const close = () => open(null)

  const place = async () => {
    setBusy(true)
    setError('')
    try {
      setOrder(await api.placeOrder(key))
      await refreshCart()
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        open('signin', 'checkout')
        return
      }
      setError(e instanceof ApiError ? e.describe() : String(e))
    } finally {
      setBusy(false)
    }
  }

  if (order)
    return (
      <Modal title="Order placed" onClose={close} testId="checkout">
        <div className="space-y-3 p-4" role="status">
          <p className="text-lg">Thank you{auth.user?.name ? `, ${auth.user.name}` : ''}! Your order <strong>#{order.id}</strong> is {order.status}.</p>
          <p>Total charged: <strong>{money(order.total)}</strong></p>
          <div className="flex gap-2">
            <Link href={`/orders/${order.id}`} onClick={close} data-autofocus
              className="rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800">See order status</Link>
            <button type="button" onClick={close} className="rounded-md border border-slate-300 px-4 py-2">Keep shopping</button>
          </div>
        </div>
      </Modal>
    )

  const empty = !cart || cart.items.length === 0
  return (
    <Modal title="Confirm your order" onClose={close} testId="checkout">
      <div className="space-y-4 p-4">
        {empty ? <p>Your cart is empty.</p> : (
          <>
            <p className="text-sm text-slate-600">Check the items and the total, then place the order. Signed in as {auth.user?.email}.</p>
            <CartLines cart={cart!} editable={false} />
            <CartTotals cart={cart!} />
          </>
        )}
        <p role="alert" className="text-sm text-rose-700">{error}</p>
        <div className="flex gap-2">
          <button type="button" onClick={place} disabled={busy || empty} data-autofocus
            className="flex-1 rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800 disabled:bg-slate-400">
            {busy ? 'Placing order…' : `Place order${cart ? ` · ${money(cart.total)}` : ''}`}
          </button>
          <button type="button" onClick={() => open('cart')} className="rounded-md border border-slate-300 px-4 py-2">Back to cart</button>
        </div>
      </div>
    </Modal>
  )
}
