// An accessible overlay: role=dialog, labelled, focus moves in on open,
// Tab stays inside, Escape closes, focus returns to where it was.  The
// page's notices show under its title bar while it is open.
import { useEffect, useRef, type ReactNode } from 'react'
import { Notices } from './Notices'

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

export function Modal({ title, onClose, children, side = false, wide = false, testId }: {
  title: string
  onClose: () => void
  children: ReactNode
  /* a drawer on the right instead of a centred box */
  side?: boolean
  /* a centred box wide enough for a form beside a summary (checkout) */
  wide?: boolean
  testId?: string
}) {
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null
    const first = box.current?.querySelector<HTMLElement>('[data-autofocus]') ?? box.current?.querySelector<HTMLElement>(FOCUSABLE)
    first?.focus()
    return () => before?.focus?.()
  }, [])
  // Escape closes even when focus has left the box (e.g. to <body>)
  const closeRef = useRef(onClose)
  useEffect(() => {
    closeRef.current = onClose
  })
  useEffect(() => {
    const esc = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !box.current?.contains(document.activeElement)) closeRef.current()
    }
    document.addEventListener('keydown', esc)
    return () => document.removeEventListener('keydown', esc)
  }, [])
  const onKey = (e: React.KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation()
      onClose()
    } else if (e.key === 'Tab' && box.current) {
      const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)]
      if (!items.length) return
      const first = items[0], last = items[items.length - 1]
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault()
        last.focus()
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault()
        first.focus()
      }
    }
  }
  const titleId = `dlg-${title.replace(/\W+/g, '-').toLowerCase()}`
  return (
    <div className="fixed inset-0 z-40 flex bg-slate-900/40" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={box} role="dialog" aria-modal="true" aria-labelledby={titleId} onKeyDown={onKey} data-testid={testId}
        className={side
          ? 'ml-auto flex h-full w-full max-w-md flex-col bg-white shadow-xl'
          : `m-auto flex max-h-[90vh] w-full ${wide ? 'max-w-3xl' : 'max-w-md'} flex-col overflow-hidden rounded-none bg-white shadow-xl sm:rounded-lg`}>
        <div className="flex items-center justify-between border-b border-slate-200 px-4 py-3">
          <h2 id={titleId} className="text-lg font-semibold">{title}</h2>
          <button type="button" onClick={onClose} aria-label={`Close ${title.toLowerCase()}`}
            className="rounded p-1 text-slate-500 hover:bg-slate-100 hover:text-slate-900">
            <span aria-hidden="true" className="text-xl leading-none">×</span>
          </button>
        </div>
        <Notices inline />
        <div className="flex-1 overflow-y-auto">{children}</div>
      </div>
    </div>
  )
}
