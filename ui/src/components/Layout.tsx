// The page frame: skip link, header (navigation, account, cart button),
// notices (components/Notices.tsx), and the open overlay. The header is one row down to
// a 360 px screen: below the sm breakpoint "Sign up" waits in the sign-in
// dialog and, signed in (one more link), the logo shows its mark only; a
// signed-in name or e-mail is cut with an ellipsis rather than widening
// the page.
import type { ReactNode } from 'react'
import { Link, useLocation } from '../router'
import { useApp } from '../state'
import { AuthDialog } from './AuthDialog'
import { CartDrawer } from './CartDrawer'
import { Checkout } from './Checkout'
import { ConnectionBanner } from '../pages/ChatPage'
import { Notices } from './Notices'

function NavLink({ href, children }: { href: string; children: ReactNode }) {
  const { path } = useLocation()
  const active = href === '/' ? path === '/' : path.startsWith(href)
  return (
    <Link href={href} aria-current={active ? 'page' : undefined}
      className={`shrink-0 rounded px-1.5 py-1 text-sm font-medium sm:px-2 ${active ? 'bg-brand-100 text-brand-800' : 'text-slate-700 hover:bg-slate-100'}`}>
      {children}
    </Link>
  )
}

export function Layout({ children }: { children: ReactNode }) {
  const { path } = useLocation()
  if (path.startsWith('/inspector')) return <InspectorLayout>{children}</InspectorLayout>
  return <ShopLayout>{children}</ShopLayout>
}

/* the inspector is for product teams: no cart, no account menu */
function InspectorLayout({ children }: { children: ReactNode }) {
  const { overlay, auth, signOut } = useApp()
  return (
    <div className="flex min-h-dvh flex-col">
      <a href="#main" className="sr-only-focusable absolute left-2 top-2 z-50 rounded bg-white px-3 py-2 shadow">Skip to content</a>
      <header className="border-b border-slate-200 bg-slate-900 text-white">
        <div className="mx-auto flex max-w-7xl items-center gap-3 px-3 py-2" data-testid="inspector-header">
          <Link href="/inspector" className="flex shrink-0 items-center gap-2 text-lg font-bold">
            <span aria-hidden="true" className="inline-block h-5 w-5 rounded bg-brand-600" />aisle <span className="font-normal text-slate-300 max-sm:sr-only">inspector</span>
          </Link>
          <nav aria-label="Main" className="ml-auto flex min-w-0 items-center gap-3 text-sm">
            <Link href="/" className="shrink-0 text-slate-200 underline-offset-2 hover:underline">Chat<span className="max-sm:sr-only"> page</span></Link>
            <a href="/docs" className="shrink-0 text-slate-200 underline-offset-2 hover:underline">API<span className="max-sm:sr-only"> docs</span></a>
            {auth.user && (
              <button type="button" onClick={signOut} title={auth.user.email} data-testid="inspector-sign-out"
                className="flex min-w-0 text-slate-200 underline-offset-2 hover:underline">
                <span className="shrink-0">Sign out</span>
                <span className="ml-1 min-w-0 truncate">{auth.user.email}</span>
              </button>
            )}
          </nav>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto w-full max-w-7xl flex-1">{children}</main>
      {/* an open dialog shows the notices itself (Modal) */}
      {overlay !== 'signin' && overlay !== 'signup' && <Notices />}
      {(overlay === 'signin' || overlay === 'signup') && <AuthDialog mode={overlay} />}
    </div>
  )
}

function ShopLayout({ children }: { children: ReactNode }) {
  const { cart, open, overlay, auth, signOut } = useApp()
  const count = cart?.count ?? 0
  return (
    <div className="flex min-h-dvh flex-col">
      <a href="#main" className="sr-only-focusable absolute left-2 top-2 z-50 rounded bg-white px-3 py-2 shadow">Skip to content</a>
      <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/95 backdrop-blur">
        <div className="mx-auto flex max-w-6xl items-center gap-x-1.5 px-2 py-2 sm:gap-x-3 sm:px-3" data-testid="shop-header">
          <Link href="/" className="flex shrink-0 items-center gap-2 text-lg font-bold text-brand-700 sm:mr-1">
            <span aria-hidden="true" className="inline-block h-5 w-5 rounded bg-brand-700" /><span className={auth.user ? 'sr-only sm:not-sr-only' : ''}>aisle</span>
          </Link>
          <nav aria-label="Main" className="flex min-w-0 items-center gap-0.5 sm:gap-1">
            <NavLink href="/">Chat</NavLink>
            <NavLink href="/catalog">Catalog</NavLink>
            {auth.user && <NavLink href="/orders">Orders</NavLink>}
          </nav>
          <div className="ml-auto flex min-w-0 items-center gap-1 sm:gap-2">
            {auth.user ? (
              <>
                <span className="hidden min-w-0 max-w-[14rem] truncate text-sm text-slate-600 sm:inline-block" data-testid="signed-in-as"
                  title={auth.user.email}>{auth.user.name || auth.user.email}</span>
                <button type="button" onClick={signOut} className="shrink-0 rounded px-1.5 py-1 text-sm text-slate-700 hover:bg-slate-100 sm:px-2">Sign out</button>
              </>
            ) : (
              <>
                <button type="button" onClick={() => open('signin')} className="shrink-0 rounded px-1.5 py-1 text-sm text-slate-700 hover:bg-slate-100 sm:px-2">Sign in</button>
                <button type="button" onClick={() => open('signup')} className="hidden shrink-0 rounded border border-brand-700 px-2 py-1 text-sm font-medium text-brand-700 hover:bg-brand-50 sm:inline-block">Sign up</button>
              </>
            )}
            <button type="button" onClick={() => open('cart')} data-testid="cart-button"
              aria-label={`Cart ${count} ${count === 1 ? 'item' : 'items'}`}
              className="relative shrink-0 rounded-md bg-brand-700 px-2.5 py-1.5 text-sm font-medium text-white hover:bg-brand-800 sm:px-3">
              Cart{' '}
              <span className="ml-1 rounded-full bg-white px-1.5 text-xs font-bold text-brand-800" data-testid="cart-count">{count}</span>
            </button>
          </div>
        </div>
        {/* in the sticky header, so that it is seen wherever the page is scrolled */}
        <div className="mx-auto max-w-6xl px-3 empty:hidden [&:not(:empty)]:pb-2"><ConnectionBanner /></div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto flex w-full max-w-6xl flex-1 flex-col">{children}</main>
      {/* every overlay of the shop is a dialog, which shows the notices itself (Modal) */}
      {!overlay && <Notices />}
      {overlay === 'cart' && <CartDrawer />}
      {(overlay === 'signin' || overlay === 'signup') && <AuthDialog mode={overlay} />}
      {overlay === 'checkout' && (auth.user ? <Checkout /> : <AuthDialog mode="signin" />)}
    </div>
  )
}
