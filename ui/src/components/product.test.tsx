import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { ProductCard, ProductImage, StockBadge } from './product'

const shoe = {
  sku: 'MEN-1', title: 'Trail Runner', brand: 'Nike', category: 'mens-shoes', price: 109.99, finalPrice: 98.99,
  rating: 4.69, stock: 62, thumbnail: 'https://cdn.example/x.webp',
  appliedRules: [{ id: 'mens-shoes-10', version: 3, reason: "10% off men's shoes", before: 109.99, after: 98.99 }],
}

describe('ProductCard', () => {
  it('shows title, brand, the promoted price with the old one and the reason, rating and stock', () => {
    render(<ProductCard p={shoe} onAdd={() => {}} />)
    expect(screen.getByRole('article', { name: /Trail Runner/ })).toBeInTheDocument()
    expect(screen.getByText('Nike')).toBeInTheDocument()
    expect(screen.getByTestId('final-price')).toHaveTextContent('$98.99')
    expect(screen.getByText('$109.99')).toHaveClass('line-through', { exact: false })
    expect(screen.getByTestId('promo-reason')).toHaveTextContent("10% off men's shoes")
    expect(screen.getByLabelText('Rated 4.7 out of 5')).toBeInTheDocument()
    expect(screen.getByText('In stock')).toBeInTheDocument()
  })

  it('shows no promotion when the price is unchanged', () => {
    render(<ProductCard p={{ ...shoe, finalPrice: 109.99, appliedRules: [] }} onAdd={() => {}} />)
    expect(screen.queryByTestId('promo-reason')).toBeNull()
    expect(screen.getByTestId('final-price')).toHaveTextContent('$109.99')
  })

  it('replaces an image that fails to load with a placeholder that names the category', () => {
    render(<ProductCard p={shoe} onAdd={() => {}} />)
    const img = screen.getByRole('img', { name: 'Trail Runner' })
    fireEvent.error(img)
    const ph = screen.getByTestId('image-placeholder')
    expect(ph).toHaveAccessibleName("Trail Runner (no image; Men's shoes)")
    expect(ph).toHaveTextContent("Men's shoes")
  })

  it('shows the category placeholder when there is no image at all, and the picture when there is', () => {
    const { rerender } = render(<ProductImage alt="" category="home-decoration" compact />)
    // a long word may break in its middle (a soft hyphen) in a small box
    expect(screen.getByTestId('image-placeholder').textContent?.replace(/\u00AD/g, '')).toBe('Home decoration')
    expect(screen.getByTestId('image-placeholder')).toHaveAccessibleName('Home decoration (no image)')
    rerender(<ProductImage src="/media/abc.png" alt="Vase" category="home-decoration" />)
    expect(screen.queryByTestId('image-placeholder')).toBeNull()
    expect(screen.getByRole('img', { name: 'Vase' })).toHaveAttribute('src', '/media/abc.png')
  })

  it('adds to the cart from the keyboard', async () => {
    const onAdd = vi.fn()
    render(<ProductCard p={shoe} onAdd={onAdd} />)
    const btn = screen.getByRole('button', { name: 'Add to cart: Trail Runner' })
    btn.focus()
    await userEvent.keyboard('{Enter}')
    expect(onAdd).toHaveBeenCalledWith('MEN-1', 'Trail Runner')
  })

  it('cannot add a product that is out of stock', () => {
    render(<ProductCard p={{ ...shoe, stock: 0 }} onAdd={() => {}} />)
    expect(screen.getByRole('button', { name: /: Trail Runner$/ })).toBeDisabled()
  })

  it('shows a product the catalog gives no price for as not for sale (the catalog sends price: null, a card priceMissing)', () => {
    const { unmount } = render(<ProductCard p={{ ...shoe, price: null, finalPrice: null, appliedRules: [] }} onAdd={() => {}} />)
    expect(screen.getByTestId('final-price')).toHaveTextContent('Price not available')
    expect(screen.getByRole('button', { name: /: Trail Runner$/ })).toBeDisabled()
    unmount()
    render(<ProductCard p={{ ...shoe, price: 0, finalPrice: 0, priceMissing: true, appliedRules: [] }} onAdd={() => {}} />)
    expect(screen.getByTestId('final-price')).toHaveTextContent('Price not available')
    expect(screen.getByRole('button', { name: /: Trail Runner$/ })).toHaveTextContent('Not for sale')
  })
})

describe('StockBadge', () => {
  it('says when stock is low', () => {
    render(<StockBadge stock={3} />)
    expect(screen.getByText('Only 3 left')).toBeInTheDocument()
  })
})
