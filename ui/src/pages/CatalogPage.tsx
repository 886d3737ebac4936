// Catalog search backed by GET /api/v1/products: text, category, brand,
// price range, in-stock, sort, pages; the facets come with each answer.
// The filters live in the URL, so a search can be shared and reloaded.
// On a narrow screen the filters fold behind a "Filters" button, so the
// first products show on the first screen; the active filters show as
// chips that remove them.
import { useEffect, useState, type FormEvent } from 'react'
import { ApiError, wholeDollars } from '../api/client'
import type { Facet, SearchResult } from '../api/types'
import { FacetList } from '../components/FacetList'
import { categoryLabel, ProductCard } from '../components/product'
import { navigate, useLocation, useTitle } from '../router'
import { useApp } from '../state'

const KEYS = ['q', 'category', 'brand', 'minPrice', 'maxPrice', 'inStock', 'sort', 'page'] as const

/* a price facet ("25-50", "1000+", "1000-") as minPrice and maxPrice */
export function priceBounds(v: string | undefined): [string | undefined, string | undefined] {
  const m = /^(\d+(?:\.\d+)?)?\s*(?:-\s*(\d+(?:\.\d+)?)?|\+)$/.exec((v ?? '').trim())
  return m ? [m[1] || undefined, m[2] || undefined] : [undefined, undefined]
}

export function priceLabel(v: string): string {
  const [lo, hi] = priceBounds(v)
  if (lo && hi) return `${wholeDollars(lo)} – ${wholeDollars(hi)}`
  if (lo) return `${wholeDollars(lo)} and up`
  if (hi) return `up to ${wholeDollars(hi)}`
  return v
}

/* price ranges cheapest first, whatever order they come in */
export function byPrice(facets: Facet[]): Facet[] {
  const lo = (f: Facet) => Number(priceBounds(f.value)[0] ?? 0)
  const hi = (f: Facet) => Number(priceBounds(f.value)[1] ?? Infinity)
  return [...facets].sort((a, b) => lo(a) - lo(b) || hi(a) - hi(b))
}


export function CatalogPage() {
  useTitle('Catalog')
  const { api, addToCart } = useApp()
  const { query } = useLocation()
  const params: Record<string, string | undefined> = {}
  for (const k of KEYS) params[k] = query.get(k) ?? undefined
  const key = JSON.stringify(params)
  const [res, setRes] = useState<SearchResult | null>(null)
  const [error, setError] = useState('')
  // the search shown is the one for `key` once its answer (or error) is in
  const [doneKey, setDoneKey] = useState<string | null>(null)
  const loading = doneKey !== key
  const [q, setQ] = useState(params.q ?? '')
  const [filtersOpen, setFiltersOpen] = useState(false)

  useEffect(() => {
    let live = true
    api.search({ ...JSON.parse(key), pageSize: 24 })
      .then((r) => live && (setRes(r), setError('')))
      .catch((e) => live && setError(e instanceof ApiError ? e.describe() : String(e)))
      .finally(() => live && setDoneKey(key))
    return () => {
      live = false
    }
  }, [api, key])

  const go = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams()
    const merged: Record<string, string | undefined> = { ...params, page: undefined, ...patch }
    for (const k of KEYS) if (merged[k]) next.set(k, merged[k]!)
    navigate(`/catalog${next.size ? `?${next}` : ''}`)
  }
  const onSearch = (e: FormEvent) => {
    e.preventDefault()
    go({ q: q.trim() || undefined })
  }
  const priceRange = (res?.facets.prices ?? []).find((f) => {
    const [lo, hi] = priceBounds(f.value)
    return (params.minPrice || params.maxPrice) && lo === params.minPrice && hi === params.maxPrice
  })?.value
  const chips: { label: string; clear: Record<string, undefined> }[] = []
  if (params.category) chips.push({ label: `Category: ${categoryLabel(params.category)}`, clear: { category: undefined } })
  if (params.brand) chips.push({ label: `Brand: ${params.brand}`, clear: { brand: undefined } })
  if (params.minPrice || params.maxPrice) {
    const v = `${params.minPrice ?? ''}${params.maxPrice ? `-${params.maxPrice}` : '+'}`
    chips.push({ label: `Price: ${priceLabel(v)}`, clear: { minPrice: undefined, maxPrice: undefined } })
  }
  if (params.inStock === 'true') chips.push({ label: 'In stock', clear: { inStock: undefined } })
  const page = Number(params.page ?? 1)
  const pages = res ? Math.max(1, Math.ceil(res.total / res.pageSize)) : 1

  const count = `${res?.total ?? 0} ${res?.total === 1 ? 'product' : 'products'}`
  return (
    <div className="px-3 py-3 md:py-4">
      <h1 className="mb-2 text-2xl font-semibold md:mb-3">Catalog</h1>
      <div className="mb-3 flex flex-col gap-2 md:flex-row md:items-center md:gap-3">
        <form role="search" onSubmit={onSearch} className="flex min-w-0 flex-1 gap-2">
          <label htmlFor="catalog-q" className="sr-only">Search products</label>
          <input id="catalog-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Search products"
            className="min-w-0 flex-1 rounded-md border border-slate-300 px-3 py-2" />
          <button type="submit" className="shrink-0 rounded-md bg-brand-700 px-4 py-2 font-medium text-white hover:bg-brand-800">Search</button>
        </form>
        <div className="flex flex-wrap items-center gap-2">
          <button type="button" onClick={() => setFiltersOpen(!filtersOpen)} aria-expanded={filtersOpen} aria-controls="catalog-filters"
            data-testid="filters-button"
            className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-50 md:hidden">
            Filters{chips.length ? ` (${chips.length})` : ''}
          </button>
          {chips.map((c) => (
            <button key={c.label} type="button" onClick={() => go(c.clear)} data-testid="filter-chip"
              className="rounded-full bg-brand-50 px-2.5 py-1 text-xs text-brand-800 ring-1 ring-brand-100 hover:bg-brand-100">
              {c.label} <span aria-hidden="true">×</span><span className="sr-only"> (remove this filter)</span>
            </button>
          ))}
          <label className="ml-auto flex items-center gap-2 text-sm">Sort
            <select value={params.sort ?? ''} onChange={(e) => go({ sort: e.target.value || undefined })}
              className="rounded-md border border-slate-300 bg-white px-2 py-1.5">
              <option value="">Relevance</option>
              <option value="price-asc">Price: low to high</option>
              <option value="price-desc">Price: high to low</option>
              <option value="rating">Rating</option>
            </select>
          </label>
        </div>
      </div>
      <div className="flex flex-col gap-4 md:flex-row">
        {/* folded on narrow screens (the Filters button), always open from md up */}
        <aside id="catalog-filters" aria-label="Filters" data-testid="filters"
          className={`${filtersOpen ? '' : 'hidden'} md:block md:w-56 md:shrink-0`}>
          <div className="rounded-md border border-slate-200 bg-white p-3">
            <label className="mb-4 flex items-center gap-2 text-sm">
              <input type="checkbox" checked={params.inStock === 'true'} onChange={(e) => go({ inStock: e.target.checked ? 'true' : undefined })} />
              In stock only
            </label>
            <fieldset className="mb-4">
              <legend className="mb-1 text-sm font-semibold">Price</legend>
              <div className="flex items-center gap-1">
                <label className="sr-only" htmlFor="minPrice">Minimum price</label>
                <input id="minPrice" key={`min-${params.minPrice ?? ''}`} type="number" min={0} placeholder="min" defaultValue={params.minPrice}
                  onBlur={(e) => e.target.value !== (params.minPrice ?? '') && go({ minPrice: e.target.value || undefined })}
                  onKeyDown={(e) => e.key === 'Enter' && go({ minPrice: (e.target as HTMLInputElement).value || undefined })}
                  className="w-20 rounded border border-slate-300 px-2 py-1 text-sm" />
                <span aria-hidden="true">–</span>
                <label className="sr-only" htmlFor="maxPrice">Maximum price</label>
                <input id="maxPrice" key={`max-${params.maxPrice ?? ''}`} type="number" min={0} placeholder="max" defaultValue={params.maxPrice}
                  onBlur={(e) => e.target.value !== (params.maxPrice ?? '') && go({ maxPrice: e.target.value || undefined })}
                  onKeyDown={(e) => e.key === 'Enter' && go({ maxPrice: (e.target as HTMLInputElement).value || undefined })}
                  className="w-20 rounded border border-slate-300 px-2 py-1 text-sm" />
              </div>
            </fieldset>
            <FacetList title="Price range" facets={byPrice(res?.facets.prices ?? [])} selected={priceRange}
              label={priceLabel} limit={12} searchable={false} noun={['price range', 'price ranges']}
              onPick={(v) => {
                const [lo, hi] = priceBounds(v)
                go({ minPrice: lo, maxPrice: hi })
              }} />
            <FacetList title="Category" facets={res?.facets.categories ?? []} selected={params.category} label={categoryLabel}
              limit={8} noun={['category', 'categories']} onPick={(v) => go({ category: v })} />
            <FacetList title="Brand" facets={res?.facets.brands ?? []} selected={params.brand} limit={8} searchable
              noun={['brand', 'brands']} onPick={(v) => go({ brand: v })} />
            <button type="button" onClick={() => {
              setFiltersOpen(false)
              document.getElementById('results-h')?.scrollIntoView({ block: 'start' })
            }} className="w-full rounded-md bg-brand-700 px-3 py-2 text-sm font-medium text-white hover:bg-brand-800 md:hidden">
              {loading && !res ? 'Show products' : `Show ${count}`}
            </button>
          </div>
        </aside>
        <section className="min-w-0 flex-1" aria-labelledby="results-h" aria-busy={loading}>
          <h2 id="results-h" className="mb-2 text-sm text-slate-600" aria-live="polite">
            {error ? '' : loading && !res ? 'Searching…' : `${count}${params.q ? ` for “${params.q}”` : ''}`}
            {res?.corrected && <> (showing results for “{res.corrected}”)</>}
          </h2>
          {error && <p role="alert" className="rounded bg-rose-50 p-3 text-rose-800">{error}</p>}
          <div className="grid grid-cols-1 gap-3 sm:grid-cols-[repeat(auto-fill,minmax(14rem,1fr))]">
            {res?.items.map((p, i) => <ProductCard key={p.sku} p={p} index={i} onAdd={addToCart} />)}
          </div>
          {res && pages > 1 && (
            <nav aria-label="Pages" className="mt-4 flex items-center justify-center gap-3">
              <button type="button" disabled={page <= 1} onClick={() => go({ ...params, page: String(page - 1) })}
                className="rounded border border-slate-300 px-3 py-1 disabled:opacity-40">Previous</button>
              <span className="text-sm">Page {page} of {pages}</span>
              <button type="button" disabled={page >= pages} onClick={() => go({ ...params, page: String(page + 1) })}
                className="rounded border border-slate-300 px-3 py-1 disabled:opacity-40">Next</button>
            </nav>
          )}
        </section>
      </div>
    </div>
  )
}
