// Media queries as React state: true while the query matches, updated
// when the window changes size. Where matchMedia is missing (jsdom), no
// query matches.
import { useCallback, useMemo, useSyncExternalStore } from 'react'

/* Tailwind's md breakpoint: below it the pages take their phone layout */
export const NARROW = '(max-width: 767.98px)'

function listFor(query: string): MediaQueryList | null {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function' ? window.matchMedia(query) : null
}

export function useMediaQuery(query: string): boolean {
  const mql = useMemo(() => listFor(query), [query])
  const subscribe = useCallback(
    (cb: () => void) => {
      if (!mql) return () => {}
      mql.addEventListener('change', cb)
      return () => mql.removeEventListener('change', cb)
    },
    [mql],
  )
  return useSyncExternalStore(subscribe, () => !!mql?.matches, () => false)
}

export const useNarrow = () => useMediaQuery(NARROW)
