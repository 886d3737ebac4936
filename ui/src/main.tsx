import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import './index.css'
import { App } from './App'
import { useLocation } from './router'
import { AppProvider } from './state'

function Root() {
  // the inspector opens its own traces feed; it needs no chat socket
  const { path } = useLocation()
  return (
    <AppProvider connect={!path.startsWith('/inspector')}>
      <App />
    </AppProvider>
  )
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
)
