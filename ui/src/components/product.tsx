// Product pieces shared by chat cards, the catalog and the product page:
// image with a placeholder that names the category, price with any promotion and its
// reason, rating, stock badge, add-to-cart button.
import { useState } from 'react'
import { money } from '../api/client'
import type { AppliedRule, Card, Product } from '../api/types'
import { Link } from '../router'

/* a product as a card or the catalog sends it: the catalog's price is
 * null when it gives none (an import without prices: shown, not sold) */
export type Shown = Card | Product
const unpriced = (p: Shown) => p.price === null || ('priceMissing' in p && p.priceMissing === true)

// a product's category as words, as the catalog's facet, the chips, the
// placeholders and the product page name it ("mens-shirts" -> "Men's
// shirts", "home-decoration" -> "Home decoration")
export function categoryLabel(category?: string | null): string {
  const c = (category ?? '').replace(/[-_]+/g, ' ').trim().replace(/\b(wo)?mens\b/gi, (w) => `${w.slice(0, -1)}'s`)
  return c ? c[0].toUpperCase() + c.slice(1) : ''
}

// one soft tint per category, so the placeholders of a page tell apart
const TINTS = [
  'bg-sky-50 text-sky-800 ring-sky-100', 'bg-amber-50 text-amber-900 ring-amber-100',
  'bg-emerald-50 text-emerald-800 ring-emerald-100', 'bg-rose-50 text-rose-800 ring-rose-100',
  'bg-violet-50 text-violet-800 ring-violet-100', 'bg-teal-50 text-teal-800 ring-teal-100',
  'bg-orange-50 text-orange-900 ring-orange-100', 'bg-indigo-50 text-indigo-800 ring-indigo-100',
]
function tint(key: string): string {
  let h = 0
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) >>> 0
  return TINTS[h % TINTS.length]
}

// a long word may break in its middle, with a hyphen, in a small box
// ("acces-sories") rather than anywhere or out of sight
const breakable = (label: string) =>
  label.split(' ').map((w) => (w.length > 8 ? w.slice(0, Math.ceil(w.length / 2)) + '\u00AD' + w.slice(Math.ceil(w.length / 2)) : w)).join(' ')

// The product's picture (the shop's own copy when `aisle import
// --fetch-images` kept one).  Where there is none, or it fails to load, a
// placeholder that names the category; `compact` for the small
// thumbnails of the cart, checkout and order lines.
export function ProductImage({ src, alt, category, compact = false, className = '' }: {
  src?: string | null
  alt: string
  category?: string | null
  compact?: boolean
  className?: string
}) {
  const [failed, setFailed] = useState<string | null>(null)
  if (!src || failed === src) {
    const label = categoryLabel(category)
    const name = alt ? `${alt} (no image${label ? `; ${label}` : ''})` : label ? `${label} (no image)` : 'No image'
    return (
      <div role="img" aria-label={name} data-testid="image-placeholder" data-category={category ?? ''}
        className={`flex flex-col items-center justify-center gap-1 overflow-hidden text-center ring-1 ring-inset ${tint(label || alt)} ${className}`}>
        {!compact && (
          <svg viewBox="0 0 24 24" className="h-8 w-8 opacity-70" fill="none" stroke="currentColor" strokeWidth="1.5" aria-hidden="true">
            <path d="M3 12V4a1 1 0 0 1 1-1h8l9 9-9 9-9-9z" />
            <circle cx="7.5" cy="7.5" r="1.5" />
          </svg>
        )}
        <span aria-hidden="true" className={compact
          ? 'line-clamp-3 px-0.5 text-[9px] font-semibold leading-[1.15] hyphens-manual'
          : 'px-2 text-xs font-semibold uppercase tracking-wide'}>
          {compact ? breakable(label || 'No image') : label || 'No image'}
        </span>
      </div>
    )
  }
  return <img src={src} alt={alt} loading="lazy" onError={() => setFailed(src)} className={`object-cover bg-slate-100 ${className}`} />
}

/* the rules that changed this price: the product's own, or a catalog discount */
export function priceReasons(p: { price: number; finalPrice?: number | null; appliedRules?: AppliedRule[]; discountPercentage?: number }): string[] {
  const rules = (p.appliedRules ?? []).map((r) => r.reason || r.id)
  if (rules.length) return rules
  if (p.finalPrice != null && p.finalPrice < p.price && p.discountPercentage)
    return [`${Math.round(p.discountPercentage)}% off`]
  return []
}

export function Price({ p, size = 'base' }: { p: Shown; size?: 'base' | 'lg' }) {
  if (p.price === null || unpriced(p))
    return <span className="text-sm text-slate-600" data-testid="final-price">Price not available</span>
  const priced = { ...p, price: p.price }
  const final = p.finalPrice ?? p.price
  const reduced = final < p.price - 0.004
  const reasons = priceReasons(priced)
  return (
    <div className="flex flex-col">
      <div className="flex items-baseline gap-2">
        <span className={`font-semibold ${size === 'lg' ? 'text-2xl' : 'text-base'} ${reduced ? 'text-rose-700' : ''}`}
          data-testid="final-price">
          {money(final)}
        </span>
        {reduced && (
          <span className="text-sm text-slate-500 line-through">
            <span className="sr-only">was </span>
            {money(p.price)}
          </span>
        )}
      </div>
      {reduced && reasons.length > 0 && (
        <span className="text-xs font-medium text-rose-700" data-testid="promo-reason">{reasons.join(' · ')}</span>
      )}
    </div>
  )
}

export function Rating({ value }: { value?: number }) {
  if (value === undefined) return null
  const r = Math.round(value * 10) / 10
  return (
    <span role="img" className="inline-flex items-center gap-1 text-sm text-amber-700" aria-label={`Rated ${r} out of 5`}>
      <span aria-hidden="true">★</span>
      <span aria-hidden="true">{r.toFixed(1)}</span>
    </span>
  )
}

// stock null: the catalog keeps no stock for the product (always available)
export function StockBadge({ stock }: { stock?: number | null }) {
  if (stock === undefined || stock === null) return null
  const [cls, label] =
    stock <= 0 ? ['bg-slate-200 text-slate-700', 'Out of stock']
      : stock < 10 ? ['bg-amber-100 text-amber-800', `Only ${stock} left`]
        : ['bg-emerald-100 text-emerald-800', 'In stock']
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${cls}`}>{label}</span>
}

export function AddToCartButton({ p, onAdd, className = '' }: { p: Shown; onAdd: (sku: string, title: string) => Promise<void> | void; className?: string }) {
  const [busy, setBusy] = useState(false)
  const out = (p.stock !== undefined && p.stock !== null && p.stock <= 0) || unpriced(p)
  const label = busy ? 'Adding…' : unpriced(p) ? 'Not for sale' : out ? 'Sold out' : 'Add to cart'
  return (
    <button type="button" disabled={busy || out}
      onClick={async () => {
        setBusy(true)
        try {
          await onAdd(p.sku, p.title)
        } finally {
          setBusy(false)
        }
      }}
      // the name says which product, after the visible words (WCAG 2.5.3)
      aria-label={`${label}: ${p.title}`}
      className={`rounded-md bg-brand-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-800 disabled:cursor-not-allowed disabled:bg-slate-300 ${className}`}>
      {label}
    </button>
  )
}

export function ProductCard({ p, onAdd, index, className = 'w-full' }: {
  p: Shown
  onAdd: (sku: string, title: string) => Promise<void> | void
  index?: number
  className?: string
}) {
  const titleId = `card-${p.sku}-${index ?? 0}`
  return (
    <article aria-labelledby={titleId} data-testid="product-card" data-sku={p.sku}
      className={`relative flex flex-col overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm ${className}`}>
      <ProductImage src={p.thumbnail} alt={p.title} category={p.category} className="h-32 w-full" />
      <div className="flex flex-1 flex-col gap-1 p-3">
        <h3 id={titleId} className="text-sm font-semibold leading-tight">
          <Link href={`/product/${encodeURIComponent(p.sku)}`} className="hover:underline">
            {index !== undefined && <span className="sr-only">{index + 1}. </span>}
            {p.title}
          </Link>
        </h3>
        {p.brand && <p className="text-xs text-slate-600">{p.brand}</p>}
        <Price p={p} />
        <div className="flex flex-wrap items-center gap-2">
          <Rating value={p.rating} />
          <StockBadge stock={p.stock} />
        </div>
        <div className="mt-auto pt-2">
          <AddToCartButton p={p} onAdd={onAdd} className="w-full" />
        </div>
      </div>
    </article>
  )
}
