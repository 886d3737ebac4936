// One facet of a catalog search (brand, category, price range) as a list
// of buttons with their counts. A long list shows its first few entries
// and a "Show all" button, and gets a filter box: typing narrows the list
// to the entries that contain the text. The selected entry always shows.
import { useId, useState } from 'react'
import type { Facet } from '../api/types'

export function FacetList({ title, facets, selected, onPick, label = (v: string) => v, limit = 8, searchable, noun }: {
  title: string
  facets: Facet[]
  selected?: string
  onPick: (v: string | undefined) => void
  label?: (v: string) => string
  limit?: number           // entries shown before "Show all"
  searchable?: boolean     // a filter box (default: when the list is longer than limit)
  noun?: [string, string]  // what an entry is, one and many ("brand", "brands")
}) {
  const [all, setAll] = useState(false)
  const [text, setText] = useState('')
  const id = useId()
  if (!facets.length && !selected) return null
  const [one, many] = noun ?? [title.toLowerCase(), `${title.toLowerCase()}s`]
  const long = facets.length > limit
  const filterBox = searchable ?? long
  const needle = text.trim().toLocaleLowerCase()
  const matches = needle ? facets.filter((f) => label(f.value).toLocaleLowerCase().includes(needle)) : facets
  let shown = needle || all ? matches : matches.slice(0, limit)
  if (selected && !shown.some((f) => f.value === selected)) {
    const sel = facets.find((f) => f.value === selected)
    if (sel) shown = [sel, ...shown]
  }
  return (
    <fieldset className="mb-4" data-testid={`facet-${one.replace(/\s+/g, '-')}`}>
      <legend className="mb-1 text-sm font-semibold">{title}</legend>
      {filterBox && (
        <>
          <label htmlFor={`${id}-q`} className="sr-only">Filter {many}</label>
          <input id={`${id}-q`} type="search" value={text} onChange={(e) => setText(e.target.value)}
            placeholder={`Filter ${many}`} autoComplete="off" data-testid="facet-filter"
            className="mb-1 w-full rounded border border-slate-300 px-2 py-1 text-sm" />
        </>
      )}
      <ul id={`${id}-list`} className="space-y-0.5">
        {selected && (
          <li><button type="button" onClick={() => onPick(undefined)} className="text-sm text-brand-700 underline">Any {one}</button></li>
        )}
        {shown.map((f) => (
          <li key={f.value}>
            <button type="button" onClick={() => onPick(f.value === selected ? undefined : f.value)}
              aria-pressed={f.value === selected} data-testid="facet-option" data-value={f.value}
              className={`flex w-full justify-between gap-2 rounded px-1 py-0.5 text-left text-sm hover:bg-slate-100 ${f.value === selected ? 'font-semibold text-brand-800' : ''}`}>
              <span className="min-w-0 break-words">{label(f.value)}</span><span className="text-slate-600">{f.count}</span>
            </button>
          </li>
        ))}
      </ul>
      {needle && matches.length === 0 && <p className="px-1 text-sm text-slate-600" role="status">No {one} matches “{text.trim()}”.</p>}
      {long && !needle && (
        <button type="button" onClick={() => setAll(!all)} aria-expanded={all} aria-controls={`${id}-list`}
          className="mt-1 px-1 text-sm font-medium text-brand-700 underline underline-offset-2">
          {all ? `Show fewer ${many}` : `Show all ${facets.length} ${many}`}
        </button>
      )}
    </fieldset>
  )
}
