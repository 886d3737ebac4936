import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { render, screen, waitFor } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { AppProvider } from '../state'
import { App } from '../App'
import { mockFetch } from '../test/fakes'
import { byPrice, priceBounds, priceLabel } from './CatalogPage'

const result = (brand?: string) => ({
  items: [{ sku: 'L1', title: 'Zen Book', brand: brand ?? 'Asus', category: 'laptops', price: 999, finalPrice: 999, rating: 4, stock: 3 }],
  total: 1, page: 1, pageSize: 24,
  facets: { categories: [{ value: 'laptops', count: 1 }], brands: [{ value: 'Asus', count: 1 }, { value: 'Dell', count: 2 }], prices: [{ value: '500-1000', count: 1 }] },
})

describe('catalog', () => {
  let calls: ReturnType<typeof mockFetch>
  beforeEach(() => {
    history.replaceState(null, '', '/catalog')
    calls = mockFetch({
      'GET /products': (r) => ({ body: result(new URL(r.url, 'http://x').searchParams.get('brand') ?? undefined) }),
      'GET /products/L1': { sku: 'L1', title: 'Zen Book', brand: 'Asus', price: 999, description: 'A thin laptop', stock: 3 },
    })
  })
  afterEach(() => vi.unstubAllGlobals())

  it('searches, narrows by a facet (in the URL), and opens a product', async () => {
    render(<AppProvider connect={false}><App /></AppProvider>)
    await userEvent.type(screen.getByLabelText('Search products'), 'laptop{Enter}')
    await waitFor(() => expect(calls.at(-1)!.url).toContain('q=laptop'))
    expect(await screen.findByText('1 product for “laptop”')).toBeInTheDocument()
    await userEvent.click(screen.getByRole('button', { name: /Dell/ }))
    await waitFor(() => expect(calls.at(-1)!.url).toMatch(/brand=Dell/))
    expect(location.search).toContain('brand=Dell')
    await userEvent.click(screen.getByRole('button', { name: /500 – \$1,000/ }))
    await waitFor(() => expect(calls.at(-1)!.url).toMatch(/minPrice=500&maxPrice=1000/))
    await userEvent.click(await screen.findByRole('link', { name: /Zen Book/ }))
    expect(await screen.findByRole('heading', { name: 'Zen Book' })).toBeInTheDocument()
    expect(screen.getByText('A thin laptop')).toBeInTheDocument()
  })

  it('folds the filters behind a button (shown from md up by CSS), shows active filters as chips that remove them', async () => {
    history.replaceState(null, '', '/catalog?brand=Dell&minPrice=500&maxPrice=1000')
    render(<AppProvider connect={false}><App /></AppProvider>)
    const button = screen.getByRole('button', { name: /^Filters/ })
    const panel = screen.getByTestId('filters')
    expect(button).toHaveAttribute('aria-expanded', 'false')
    expect(button).toHaveAttribute('aria-controls', panel.id)
    expect(panel.className).toMatch(/(^|\s)hidden(\s|$)/)
    expect(panel.className).toContain('md:block')
    expect(button).toHaveTextContent('Filters (2)')
    await userEvent.click(button)
    expect(button).toHaveAttribute('aria-expanded', 'true')
    expect(panel.className).not.toMatch(/(^|\s)hidden(\s|$)/)
    // the panel's own button closes it and shows the products
    await userEvent.click(await screen.findByRole('button', { name: 'Show 1 product' }))
    expect(button).toHaveAttribute('aria-expanded', 'false')
    const chips = screen.getAllByTestId('filter-chip')
    expect(chips.map((c) => c.textContent)).toEqual(['Brand: Dell × (remove this filter)', 'Price: $500 – $1,000 × (remove this filter)'])
    await userEvent.click(chips[0])
    await waitFor(() => expect(location.search).toBe('?minPrice=500&maxPrice=1000'))
  })

  it('orders price ranges cheapest first whatever order they come in', () => {
    const f = ['1000+', '50-100', '0-25', '500-1000', '25-50'].map((value) => ({ value, count: 1 }))
    expect(byPrice(f).map((x) => x.value)).toEqual(['0-25', '25-50', '50-100', '500-1000', '1000+'])
  })

  it('reads price facets', () => {
    expect(priceBounds('25-50')).toEqual(['25', '50'])
    expect(priceBounds('1000+')).toEqual(['1000', undefined])
    expect(priceLabel('1000+')).toBe('$1,000 and up')
    expect(priceBounds('junk')).toEqual([undefined, undefined])
  })
})
