// Order history and one order's status (GET /api/v1/orders[/{id}]),
// with cancel while the order is still placed.
import { useEffect, useState } from 'react'
import { ApiError, money } from '../api/client'
import type { Order } from '../api/types'
import { Link, useTitle } from '../router'
import { useApp } from '../state'
import { AddressBlock, OrderSummary, PaymentLine, summaryOfOrder } from '../components/OrderSummary'
import { ProductImage } from '../components/product'

const when = (t: number) => new Date(t < 1e12 ? t * 1000 : t).toLocaleString()

export function StatusBadge({ status }: { status: string }) {
  const cls = status === 'cancelled' ? 'bg-slate-200 text-slate-700'
    : status === 'delivered' ? 'bg-emerald-100 text-emerald-800'
      : status === 'shipped' ? 'bg-sky-100 text-sky-800' : 'bg-amber-100 text-amber-900'
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${cls}`} data-testid="order-status">{status}</span>
}

// A cancelled paid order: what its card got back, or is owed
export function RefundLine({ r }: { r: NonNullable<Order['refund']> }) {
  const card = r.last4 ? ` to the card ending ${r.last4}` : ''
  return r.status === 'refunded'
    ? <p className="font-medium text-emerald-800" data-testid="order-refund">Refunded {money(r.amount)}{card}{r.at ? ` on ${when(r.at)}` : ''}</p>
    : <p className="font-medium text-amber-900" data-testid="order-refund">Refund of {money(r.amount)}{card} pending</p>
}

function SignInFirst() {
  const { open } = useApp()
  return (
    <div className="rounded-md bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <p>Sign in to see your orders.</p>
      <button type="button" onClick={() => open('signin')} className="mt-2 rounded-md bg-brand-700 px-4 py-2 text-white">Sign in</button>
    </div>
  )
}

export function OrdersPage() {
  useTitle('Your orders')
  const { api, auth } = useApp()
  const [orders, setOrders] = useState<Order[] | null>(null)
  const [error, setError] = useState('')
  useEffect(() => {
    if (!auth.user) return
    api.orders().then((r) => setOrders(r.items)).catch((e) => setError(e instanceof ApiError ? e.describe() : String(e)))
  }, [api, auth.user])
  return (
    <div className="px-3 py-4">
      <h1 className="mb-3 text-2xl font-semibold">Your orders</h1>
      {!auth.user ? <SignInFirst /> : error ? <p role="alert" className="text-rose-800">{error}</p>
        : !orders ? <p role="status">Loading…</p>
          : orders.length === 0 ? <p>No orders yet.</p> : (
            <ul className="divide-y divide-slate-200 rounded-md bg-white shadow-sm ring-1 ring-slate-200" data-testid="order-list">
              {orders.map((o) => (
                <li key={o.id} className="flex flex-wrap items-center gap-3 p-3" data-testid="order-row">
                  <Link href={`/orders/${o.id}`} className="font-medium text-brand-700 underline">Order #{o.id}</Link>
                  <StatusBadge status={o.status} />
                  <span className="text-sm text-slate-600">{when(o.createdAt)}</span>
                  <span className="text-sm text-slate-600">{o.lines.reduce((n, l) => n + l.qty, 0)} items</span>
                  <span className="flex gap-1" data-testid="order-thumbnails">
                    {o.lines.slice(0, 4).map((l) => (
                      <ProductImage key={l.sku} src={l.thumbnail} alt={l.title} category={l.category} compact
                        className="h-10 w-10 rounded" />
                    ))}
                  </span>
                  <span className="ml-auto font-medium">{money(o.total)}</span>
                </li>
              ))}
            </ul>
          )}
    </div>
  )
}

export function OrderPage({ id }: { id: string }) {
  useTitle(`Order #${id}`)
  const { api, auth, reportError } = useApp()
  const [o, setO] = useState<Order | null>(null)
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    if (!auth.user) return
    api.order(id).then(setO).catch((e) => setError(e instanceof ApiError && e.status === 404 ? 'No such order.' : e instanceof ApiError ? e.describe() : String(e)))
  }, [api, id, auth.user])
  const cancel = async () => {
    if (!o || !confirm(`Cancel order #${o.id}?`)) return
    setBusy(true)
    try {
      setO(await api.cancelOrder(o.id))
    } catch (e) {
      reportError(e)
    } finally {
      setBusy(false)
    }
  }
  return (
    <div className="px-3 py-4">
      <p className="mb-3 text-sm"><Link href="/orders" className="text-brand-700 underline">← All orders</Link></p>
      <h1 className="mb-3 text-2xl font-semibold">Order #{id}</h1>
      {!auth.user ? <SignInFirst /> : error ? <p role="alert" className="text-rose-800">{error}</p> : !o ? <p role="status">Loading…</p> : (
        <div className="space-y-3 rounded-md bg-white p-4 shadow-sm ring-1 ring-slate-200" data-testid="order-detail">
          <p>Status: <StatusBadge status={o.status} /> · placed {when(o.createdAt)}</p>
          <OrderSummary summary={summaryOfOrder(o)} totalLabel={o.refund ? 'Total' : o.payment ? 'Total charged' : 'Total'} />
          {o.refund && <RefundLine r={o.refund} />}
          <div className="grid gap-3 sm:grid-cols-2">
            {o.address && <div><h2 className="text-sm font-semibold">Delivery to</h2><AddressBlock a={o.address} /></div>}
            {o.payment && <div><h2 className="text-sm font-semibold">Payment</h2><PaymentLine p={o.payment} /></div>}
          </div>
          {o.emailText && (
            <details className="text-sm" data-testid="order-email">
              <summary className="cursor-pointer text-brand-700 underline">Confirmation e-mail</summary>
              <pre className="mt-2 whitespace-pre-wrap rounded bg-slate-50 p-2 font-sans">{o.emailText}</pre>
            </details>
          )}
          {o.status === 'placed' && (
            <button type="button" onClick={cancel} disabled={busy} className="rounded-md border border-rose-700 px-3 py-1.5 text-rose-800 hover:bg-rose-50">Cancel order</button>
          )}
        </div>
      )}
    </div>
  )
}
