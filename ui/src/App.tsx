// Routes: / chat, /catalog, /product/:sku, /orders, /orders/:id, /inspector.
import { lazy, Suspense } from 'react'
import { Layout } from './components/Layout'
import { CatalogPage } from './pages/CatalogPage'
import { ChatPage } from './pages/ChatPage'
import { OrderPage, OrdersPage } from './pages/OrdersPage'
import { ProductPage } from './pages/ProductPage'
import { Link, useLocation } from './router'

// the graph libraries load only with the inspector
const InspectorPage = lazy(() => import('./inspector/InspectorPage').then((m) => ({ default: m.InspectorPage })))

export function Routes() {
  const { path } = useLocation()
  let m: RegExpMatchArray | null
  if (path === '/' || path === '/chat') return <ChatPage />
  if (path === '/catalog') return <CatalogPage />
  if ((m = path.match(/^\/product\/([^/]+)$/))) return <ProductPage sku={decodeURIComponent(m[1])} />
  if (path === '/orders') return <OrdersPage />
  if ((m = path.match(/^\/orders\/([^/]+)$/))) return <OrderPage id={decodeURIComponent(m[1])} />
  if (path === '/inspector' || path.startsWith('/inspector/')) return (
      <Suspense fallback={<p role="status" className="p-4">Loading the inspector…</p>}>
        <InspectorPage />
      </Suspense>
    )
  return (
    <div className="p-6">
      <h1 className="text-2xl font-semibold">Page not found</h1>
      <p className="mt-2"><Link href="/" className="text-brand-700 underline">Back to the chat</Link></p>
    </div>
  )
}

export function App() {
  return (
    <Layout>
      <Routes />
    </Layout>
  )
}
