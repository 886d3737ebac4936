// Notices ("added to your cart", "slow down", errors) in an assertive live
// region.  With no dialog open they float at the top right (a phone: top,
// centred); while a dialog or the cart drawer is open they sit inside it,
// between its title bar and its content, so they never cover its close
// button, a cart line or a form field, and (inside an aria-modal dialog)
// a screen reader still hears them and the keyboard reaches "Dismiss".
import { useActions, useNotices } from '../state'

export function Notices({ inline = false }: { inline?: boolean }) {
  const notices = useNotices()
  const { dismiss } = useActions()
  return (
    <div data-testid={inline ? 'notices-inline' : 'notices'} aria-live="assertive" role="status"
      className={inline
        ? 'flex flex-col gap-2 px-4 empty:hidden [&:not(:empty)]:py-2'
        : 'pointer-events-none fixed inset-x-0 top-24 z-50 flex flex-col items-center gap-2 px-2 sm:inset-x-auto sm:right-4 sm:top-16 sm:items-end'}>
      {notices.map((n) => (
        <div key={n.id} data-testid={`notice-${n.kind}`}
          className={`pointer-events-auto flex items-start gap-2 rounded-md px-3 py-2 text-sm ${inline ? '' : 'max-w-md shadow-lg'} ${
            n.kind === 'info' ? 'bg-slate-800 text-white' : n.kind === 'rate' ? 'bg-amber-100 text-amber-900 ring-1 ring-amber-300' : 'bg-rose-100 text-rose-900 ring-1 ring-rose-300'}`}>
          <span className="flex-1">{n.text}</span>
          <button type="button" onClick={() => dismiss(n.id)} aria-label="Dismiss" className="opacity-70 hover:opacity-100">×</button>
        </div>
      ))}
    </div>
  )
}
