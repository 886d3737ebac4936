// One order summary for the checkout, its confirmation and the order
// page: every line with the rules that priced it, every discount with its
// reason, the delivery, the total.  The checkout shows the cart with the
// delivery chosen; the order page shows what the order kept.
import { money } from '../api/client'
import type { Address, Cart, CartDiscount, DeliveryOption, Order, OrderPayment } from '../api/types'
import { ProductImage } from './product'

export interface Summary {
  lines: {
    sku: string; title: string; qty: number; unit: number; listUnit?: number; lineTotal: number; reasons: string[]
    thumbnail?: string | null; category?: string | null
  }[]
  subtotal: number
  discounts: CartDiscount[]
  delivery?: DeliveryOption
  total: number
}

const cents = (v: number) => Math.round(v * 100) / 100

export function summaryOfCart(cart: Cart, delivery?: DeliveryOption): Summary {
  return {
    lines: cart.items.map((l) => ({
      sku: l.sku, title: l.title, qty: l.qty, unit: l.finalPrice ?? l.unitPrice, listUnit: l.unitPrice, lineTotal: l.lineTotal,
      reasons: (l.appliedRules ?? []).map((r) => r.reason || r.id),
      thumbnail: l.thumbnail, category: l.category,
    })),
    subtotal: cart.subtotal,
    discounts: cart.discounts ?? [],
    delivery,
    total: cents(cart.total + (delivery?.price ?? 0)),
  }
}

export function summaryOfOrder(o: Order): Summary {
  const lines = o.lines.map((l) => ({
    sku: l.sku, title: l.title, qty: l.qty, unit: l.unitPrice, lineTotal: cents(l.unitPrice * l.qty),
    reasons: (l.appliedRules ?? []).map((r) => r.reason || r.id),
    thumbnail: l.thumbnail, category: l.category,
  }))
  return {
    lines,
    subtotal: o.subtotal ?? lines.reduce((n, l) => n + l.lineTotal, 0),
    discounts: o.discounts ?? [],
    delivery: o.delivery,
    total: o.total,
  }
}

export function OrderSummary({ summary, totalLabel = 'Total' }: { summary: Summary; totalLabel?: string }) {
  const { lines, discounts, delivery } = summary
  return (
    <div data-testid="order-summary">
      <ul className="divide-y divide-slate-200" aria-label="Order lines">
        {lines.map((l) => (
          <li key={l.sku} className="flex justify-between gap-3 py-2" data-testid="summary-line">
            <ProductImage src={l.thumbnail} alt="" category={l.category} compact className="h-12 w-12 shrink-0 rounded-md" />
            <div className="min-w-0 flex-1">
              <p className="font-medium">{l.title}</p>
              <p className="text-sm text-slate-600">
                {l.qty} × {money(l.unit)}
                {l.listUnit !== undefined && l.unit < l.listUnit - 0.004 && <span className="ml-1 text-slate-500 line-through">{money(l.listUnit)}</span>}
              </p>
              {l.reasons.length > 0 && <p className="text-xs text-rose-800">{l.reasons.join(' · ')}</p>}
            </div>
            <p className="font-medium">{money(l.lineTotal)}</p>
          </li>
        ))}
      </ul>
      <dl className="mt-2 space-y-1 border-t border-slate-200 pt-2 text-sm">
        <div className="flex justify-between"><dt>Subtotal</dt><dd>{money(summary.subtotal)}</dd></div>
        {discounts.map((d) => (
          <div key={d.id + (d.reason ?? '')} className="flex justify-between gap-2 text-rose-800" data-testid="summary-discount">
            <dt>{d.reason || d.id}</dt>
            <dd>−{money(Math.abs(d.amount))}</dd>
          </div>
        ))}
        {delivery && (
          <div className="flex justify-between gap-2" data-testid="summary-delivery">
            <dt>{delivery.name} <span className="text-slate-600">({delivery.days})</span></dt>
            <dd>{delivery.price === 0 ? 'Free' : money(delivery.price)}</dd>
          </div>
        )}
        <div className="flex justify-between border-t border-slate-200 pt-1 text-base font-semibold">
          <dt>{totalLabel}</dt><dd data-testid="summary-total">{money(summary.total)}</dd>
        </div>
      </dl>
    </div>
  )
}

/* The country names the checkout offers, and how each writes the city
 * line: "Springfield, IL 62701" (US, Canada, Australia), "Leeds LS1 4AP"
 * (UK, Ireland), "10115 Berlin" elsewhere; the confirmation e-mail
 * (engine/checkout.c) writes the same. */
export const COUNTRIES: [string, string][] = [['US', 'United States'], ['CA', 'Canada'], ['GB', 'United Kingdom'], ['DE', 'Germany'],
  ['FR', 'France'], ['IT', 'Italy'], ['ES', 'Spain'], ['NL', 'Netherlands'], ['IE', 'Ireland']]
const COUNTRY_NAMES: Record<string, string> = { ...Object.fromEntries(COUNTRIES), AU: 'Australia' }
const join = (...parts: (string | null | undefined)[]) => parts.filter(Boolean).join(' ')

export function localityLine(a: Pick<Address, 'city' | 'region' | 'postalCode' | 'country'>): string {
  const cc = (a.country ?? '').toUpperCase()
  if (cc === 'US' || cc === 'CA' || cc === 'AU') return join(a.region ? `${a.city},` : a.city, a.region, a.postalCode)
  if (cc === 'GB' || cc === 'IE') return join(a.city, a.postalCode)
  return join(a.postalCode, a.region ? `${a.city},` : a.city, a.region)
}

export const countryName = (code: string) => COUNTRY_NAMES[(code ?? '').toUpperCase()] ?? code

export function AddressBlock({ a }: { a: Address }) {
  return (
    <address className="not-italic text-sm leading-5" data-testid="summary-address">
      {a.name}<br />{a.line1}<br />{a.line2 && <>{a.line2}<br /></>}
      {localityLine(a)}<br />{countryName(a.country)}
    </address>
  )
}

export const brandName = (b: string) =>
  b === 'visa' ? 'Visa' : b === 'mastercard' ? 'Mastercard' : b === 'amex' ? 'American Express' : b === 'discover' ? 'Discover' : 'Card'

export function PaymentLine({ p }: { p: OrderPayment }) {
  return <p className="text-sm" data-testid="summary-payment">Paid with {brandName(p.brand)} ending in {p.last4}{p.saved ? ' (saved card)' : ''}</p>
}
