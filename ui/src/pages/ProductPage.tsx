// Product detail from GET /api/v1/products/{sku}.
import { useEffect, useState } from 'react'
import { ApiError } from '../api/client'
import type { Product } from '../api/types'
import { AddToCartButton, categoryLabel, Price, ProductImage, Rating, StockBadge } from '../components/product'
import { Link, useTitle } from '../router'
import { useApp } from '../state'

export function ProductPage({ sku }: { sku: string }) {
  const { api, addToCart } = useApp()
  // the answer for one sku: another sku shows "Loading…" until its own is in
  const [got, setGot] = useState<{ sku: string; p: Product | null; error: string } | null>(null)
  const p = got?.sku === sku ? got.p : null
  const error = got?.sku === sku ? got.error : ''
  useTitle(p?.title ?? 'Product')
  useEffect(() => {
    let live = true
    api.product(sku)
      .then((r) => live && setGot({ sku, p: r, error: '' }))
      .catch((e) => live && setGot({ sku, p: null, error: e instanceof ApiError && e.status === 404 ? 'This product does not exist (any more).' : e instanceof ApiError ? e.describe() : String(e) }))
    return () => {
      live = false
    }
  }, [api, sku])

  return (
    <div className="px-3 py-4">
      <p className="mb-3 text-sm"><Link href="/catalog" className="text-brand-700 underline">← Catalog</Link></p>
      {error && <p role="alert" className="rounded bg-rose-50 p-3 text-rose-800">{error}</p>}
      {!p && !error && <p role="status">Loading…</p>}
      {p && (
        <article className="grid gap-6 md:grid-cols-2" data-testid="product-detail">
          <ProductImage src={p.images?.[0] ?? p.thumbnail} alt={p.title} category={p.category} className="aspect-square w-full max-w-md rounded-lg" />
          <div className="flex flex-col gap-3">
            <div>
              <h1 className="text-2xl font-semibold">{p.title}</h1>
              <p className="text-slate-600" data-testid="product-byline">{p.brand}{p.brand && p.category && ' · '}{p.category && (
                <Link href={`/catalog?category=${encodeURIComponent(p.category)}`} className="text-brand-700 underline underline-offset-2">
                  {categoryLabel(p.category)}</Link>)}</p>
            </div>
            <Price p={p} size="lg" />
            <div className="flex items-center gap-3"><Rating value={p.rating} /><StockBadge stock={p.stock} /></div>
            {p.description && <p className="text-slate-800">{p.description}</p>}
            {!!p.tags?.length && (
              <ul className="flex flex-wrap gap-1" aria-label="Tags">
                {p.tags.map((t) => <li key={t} className="rounded bg-slate-100 px-2 py-0.5 text-xs">{t}</li>)}
              </ul>
            )}
            <p className="text-xs text-slate-500">SKU {p.sku}</p>
            <AddToCartButton p={p} onAdd={addToCart} className="self-start px-6 py-2 text-base" />
          </div>
        </article>
      )}
    </div>
  )
}
