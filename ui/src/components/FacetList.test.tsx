import { describe, expect, it, vi } from 'vitest'
import { render, screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { FacetList } from './FacetList'

const brands = ['Apple', 'Samsung', 'Rolex', 'Dell', 'Asus', 'Lenovo', 'Huawei', 'Oppo', 'Vivo', 'Realme', 'Nike', 'Puma']
  .map((value, i) => ({ value, count: 20 - i }))
const names = () => screen.queryAllByTestId('facet-option').map((b) => b.dataset.value)

describe('facet list', () => {
  it('shows the first entries and a "Show all" button', async () => {
    render(<FacetList title="Brand" facets={brands} onPick={() => {}} limit={5} noun={['brand', 'brands']} />)
    expect(names()).toEqual(['Apple', 'Samsung', 'Rolex', 'Dell', 'Asus'])
    const more = screen.getByRole('button', { name: 'Show all 12 brands' })
    expect(more).toHaveAttribute('aria-expanded', 'false')
    await userEvent.click(more)
    expect(names()).toHaveLength(12)
    await userEvent.click(screen.getByRole('button', { name: 'Show fewer brands' }))
    expect(names()).toHaveLength(5)
  })

  it('narrows the list to the entries that contain the typed text, whatever the case', async () => {
    render(<FacetList title="Brand" facets={brands} onPick={() => {}} limit={5} noun={['brand', 'brands']} />)
    await userEvent.type(screen.getByLabelText('Filter brands'), 'le')
    expect(names()).toEqual(['Apple', 'Rolex', 'Lenovo'])
    expect(screen.queryByRole('button', { name: /Show all/ })).toBeNull()
    await userEvent.clear(screen.getByLabelText('Filter brands'))
    await userEvent.type(screen.getByLabelText('Filter brands'), 'PU')
    expect(names()).toEqual(['Puma'])   // beyond the first five
    await userEvent.type(screen.getByLabelText('Filter brands'), 'x')
    expect(names()).toEqual([])
    expect(screen.getByRole('status')).toHaveTextContent('No brand matches “PUx”.')
  })

  it('keeps the selected entry in view and offers "Any"', async () => {
    const pick = vi.fn()
    render(<FacetList title="Brand" facets={brands} selected="Puma" onPick={pick} limit={3} noun={['brand', 'brands']} />)
    expect(names()).toEqual(['Puma', 'Apple', 'Samsung', 'Rolex'])
    expect(screen.getByRole('button', { name: /Puma/ })).toHaveAttribute('aria-pressed', 'true')
    await userEvent.click(screen.getByRole('button', { name: 'Any brand' }))
    expect(pick).toHaveBeenCalledWith(undefined)
    await userEvent.click(screen.getByRole('button', { name: /Apple/ }))
    expect(pick).toHaveBeenCalledWith('Apple')
  })

  it('a short list has no filter box and no "Show all"', () => {
    render(<FacetList title="Category" facets={brands.slice(0, 3)} onPick={() => {}} limit={8} />)
    expect(screen.queryByRole('searchbox')).toBeNull()
    expect(screen.queryByRole('button', { name: /Show all/ })).toBeNull()
    expect(within(screen.getByRole('group', { name: 'Category' })).getAllByTestId('facet-option')).toHaveLength(3)
  })
})
